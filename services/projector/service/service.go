package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/services/projector/adapters"
	"github.com/stratahq/strata/services/projector/app/query"
	"github.com/stratahq/strata/services/projector/ports"
	"github.com/stratahq/strata/upcasters"
)

// Config configures the projector; FromEnv fills it from the environment.
type Config struct {
	DatabaseURL string
	// ReadDatabaseURL (READ_DATABASE_URL), when set, is a streaming replica
	// of DatabaseURL the query API reads from; the projection still writes to
	// DatabaseURL. ReadFallback (QUERY_READ_FALLBACK) says what queries do
	// when the replica does not answer: "primary" (default) reads the
	// primary instead, "fail" answers UNAVAILABLE.
	ReadDatabaseURL   string
	ReadFallback      string
	Kafka             messaging.KafkaConfig
	SchemaRegistryURL string
	GRPCAddr          string // QUERY_GRPC_ADDR, default 127.0.0.1:50052
	MetricsAddr       string // PROJECTOR_METRICS_ADDR, default 127.0.0.1:9466; "off" disables
	Group             string // consumer group, default "projector"
	Topics            []string
	GRPC              bootstrap.GRPCConfig // QUERY_TLS_CERT, _TLS_KEY, _TLS_CLIENT_CA, _JWKS_URL, _JWT_ISSUER, _JWT_AUDIENCE (bootstrap.GRPCConfigFromEnv)
	WaitTimeout       time.Duration
	Tracing           observe.TracingConfig
	EnvFile           string // when set, the bound addresses are written there as export lines
	Logger            *slog.Logger
	// Registry is where metrics go; nil: a new registry served at MetricsAddr.
	Registry *prometheus.Registry
	// Ready, when set, is called once the gRPC server listens.
	Ready func(grpcAddr, metricsAddr string)
}

// FromEnv reads DATABASE_URL, KAFKA_BROKERS (and KAFKA_CONFIG_*), SCHEMA_REGISTRY_URL,
// QUERY_GRPC_ADDR, PROJECTOR_METRICS_ADDR, PROJECTOR_GROUP, PROJECTOR_TOPICS,
// QUERY_TLS_CERT, QUERY_TLS_KEY, OTEL_TRACES_EXPORTER, READ_DATABASE_URL,
// QUERY_READ_FALLBACK.
func FromEnv() (Config, error) {
	kc, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return Config{}, err
	}
	return Config{
		DatabaseURL:       bootstrap.Getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		ReadDatabaseURL:   os.Getenv("READ_DATABASE_URL"),
		ReadFallback:      bootstrap.Getenv("QUERY_READ_FALLBACK", "primary"),
		Kafka:             kc,
		SchemaRegistryURL: bootstrap.Getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		GRPCAddr:          bootstrap.Getenv("QUERY_GRPC_ADDR", "127.0.0.1:50052"),
		MetricsAddr:       bootstrap.Getenv("PROJECTOR_METRICS_ADDR", "127.0.0.1:9466"),
		Group:             bootstrap.Getenv("PROJECTOR_GROUP", "projector"),
		Topics:            strings.Split(bootstrap.Getenv("PROJECTOR_TOPICS", "events.order"), ","),
		GRPC:              bootstrap.GRPCConfigFromEnv("QUERY"),
		Tracing:           observe.TracingConfig{Service: "projector", Exporter: bootstrap.Getenv("OTEL_TRACES_EXPORTER", "none")},
	}, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := bootstrap.Required("projector", "DATABASE_URL", c.DatabaseURL, "KAFKA_BROKERS", c.Kafka["bootstrap.servers"],
		"SCHEMA_REGISTRY_URL", c.SchemaRegistryURL, "QUERY_GRPC_ADDR", c.GRPCAddr)
	if c.ReadFallback != "" && c.ReadFallback != "primary" && c.ReadFallback != "fail" {
		errs = append(errs, fmt.Errorf("projector: QUERY_READ_FALLBACK=%q: want primary or fail", c.ReadFallback))
	}
	if err := c.GRPC.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("projector: %w", err))
	}
	return errors.Join(errs...)
}

// Projections returns the projector's projections, in apply order.
func Projections() []projection.Projection {
	return []projection.Projection{adapters.OrderSummaries{}, adapters.DailySales{}}
}

// Run starts the projector and blocks until ctx ends or a component fails.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Tracing.Service != "" {
		shutdown, err := observe.SetupTracing(ctx, cfg.Tracing)
		if err != nil {
			return err
		}
		defer shutdown(context.WithoutCancel(ctx)) //nolint:errcheck
	}
	// Two pools: the consumer's transactions never wait behind queries that
	// poll for a position token, and the other way round.
	pool, err := newPool(ctx, cfg.DatabaseURL, 8)
	if err != nil {
		return fmt.Errorf("projector: database: %w", err)
	}
	defer pool.Close()
	queryPool, err := newPool(ctx, cfg.DatabaseURL, 12)
	if err != nil {
		return fmt.Errorf("projector: database: %w", err)
	}
	defer queryPool.Close()
	var replicaPool *pgxpool.Pool // nil: queries read the primary
	if cfg.ReadDatabaseURL != "" {
		if replicaPool, err = newPool(ctx, cfg.ReadDatabaseURL, 12); err != nil {
			return fmt.Errorf("projector: read database: %w", err)
		}
		defer replicaPool.Close()
	}
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("projector: event store migrations: %w", err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		return err
	}
	runner := projection.NewRunner(pool, Projections()...)
	if err := runner.Setup(ctx); err != nil {
		return fmt.Errorf("projector: %w", err)
	}

	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "projector"); err != nil {
		return err
	}
	mm := messaging.NewMetrics()
	if err := mm.Register(reg); err != nil {
		return fmt.Errorf("projector: metrics: %w", err)
	}
	dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, cfg.Topics, "")
	defer dlqSize.Close()
	if err := reg.Register(dlqSize); err != nil {
		return fmt.Errorf("projector: metrics: %w", err)
	}
	pm, err := observe.NewProjectionMetrics(reg)
	if err != nil {
		return fmt.Errorf("projector: metrics: %w", err)
	}
	pm.Instrument(runner)
	if err := reg.Register(observe.NewProjectionStatusCollector(runner)); err != nil {
		return fmt.Errorf("projector: metrics: %w", err)
	}
	var readModel query.ReadModel = adapters.NewReadModel(queryPool, projection.NewRunner(queryPool, Projections()...))
	if replicaPool != nil {
		rr := adapters.NewReplicaReads(adapters.NewReadModel(replicaPool, projection.NewRunner(replicaPool, Projections()...)), readModel, cfg.ReadFallback != "fail")
		reads := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_query_reads_total",
			Help: "Query reads by database (replica, primary) and whether the primary answered because the replica did not (fallback).",
		}, []string{"source", "fallback"})
		if err := reg.Register(reads); err != nil {
			return fmt.Errorf("projector: metrics: %w", err)
		}
		rr.OnRead = func(source string, fallback bool) { reads.WithLabelValues(source, fmt.Sprint(fallback)).Inc() }
		if err := reg.Register(observe.NewReplicaLagCollector(queryPool, replicaPool, "read", "")); err != nil {
			return fmt.Errorf("projector: metrics: %w", err)
		}
		readModel = rr
	}
	router := messaging.NewRouter(types)
	runner.Register(router)
	schemaRegistry, err := client.ForURL(cfg.SchemaRegistryURL)
	if err != nil {
		return fmt.Errorf("projector: schema registry: %w", err)
	}
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.Group, Topics: cfg.Topics, Kafka: cfg.Kafka, DB: pool,
		Registry: schemaRegistry, Decoder: up, Router: router,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second,
		CommitInterval: 200 * time.Millisecond, Metrics: mm, Logger: log, OnHandle: observe.ConsumerHook(cfg.Group),
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("projector: consumer: %w", err)
	}

	// One request reads one database (replica or primary), so a position
	// token waited for on one is never followed by a read on the other.
	readSession := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(adapters.WithReadSession(ctx), req)
	})
	grpcCfg := cfg.GRPC
	grpcCfg.Logger = log
	srv, hs, err := bootstrap.GRPCServer(ctx, "projector", reg, grpcCfg, readSession)
	if err != nil {
		return err
	}
	queryv1.RegisterOrderQueryServiceServer(srv, ports.NewQueryServer(query.New(readModel, query.Config{WaitTimeout: cfg.WaitTimeout})))
	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("projector: listen %s: %w", cfg.GRPCAddr, err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("projector", cfg.MetricsAddr, reg, cfg.Registry == nil, "", "PROJECTOR_METRICS_ADDR")
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	kafkaCheck, closeKafka, err := bootstrap.KafkaCheck(cfg.Kafka)
	if err != nil {
		return fmt.Errorf("projector: %w", err)
	}
	defer closeKafka()
	consumerDone := make(chan error, 1)
	go func() { consumerDone <- consumer.Run(ctx) }()
	// Health stays NOT_SERVING and the env file unwritten until the consumer
	// holds its partitions (reads before that would wait for a read model
	// that does not move); from then on health follows the checks.
	runErr := bootstrap.ServeUntilDone(ctx, consumer, errc, consumerDone, func() error {
		bootstrap.WatchHealth(ctx, hs, log, 5*time.Second, []string{queryv1.OrderQueryService_ServiceDesc.ServiceName}, bootstrap.PoolCheck("database", pool), kafkaCheck)
		log.InfoContext(ctx, "projector running", "grpc", ln.Addr().String(), "metrics", metricsAddr, "group", cfg.Group, "topics", cfg.Topics,
			"partitions", consumer.Assigned())
		if cfg.Ready != nil {
			cfg.Ready(ln.Addr().String(), metricsAddr)
		}
		return bootstrap.WriteEnvFile("projector", cfg.EnvFile, "PROJECTOR_METRICS_ADDR", metricsAddr, "QUERY_GRPC_ADDR", ln.Addr().String())
	})
	if runErr != nil {
		runErr = fmt.Errorf("projector: %w", runErr)
	}
	hs.Shutdown()
	cancel()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		srv.Stop()
	}
	// The consumer leaves its group before the process exits, so that the
	// next instance is assigned at once.
	bootstrap.AwaitConsumer(log, "projector", consumerDone)
	return runErr
}

// newPool opens a pool with up to maxConns connections unless the URL sets
// pool_max_conns.
func newPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(url, "pool_max_conns") {
		pc.MaxConns = max(pc.MaxConns, maxConns)
	}
	if !strings.Contains(url, "connect_timeout") {
		// A replica that is down must not hold queries for long before they fall back.
		pc.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	return pgxpool.NewWithConfig(ctx, pc)
}
