package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/saga/answer"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/app/query"
	"github.com/stratahq/strata/services/order/ports"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

// Config configures the order service; FromEnv fills it from the environment.
type Config struct {
	DatabaseURL string
	GRPCAddr    string               // ORDER_GRPC_ADDR, default 127.0.0.1:50051
	MetricsAddr string               // ORDER_METRICS_ADDR, default 127.0.0.1:9465; "off" disables
	GRPC        bootstrap.GRPCConfig // ORDER_TLS_CERT, _TLS_KEY, _TLS_CLIENT_CA, _JWKS_URL, _JWT_ISSUER, _JWT_AUDIENCE (bootstrap.GRPCConfigFromEnv)
	// OutOfStock lists product ids the in-process stock check refuses
	// (ORDER_OUT_OF_STOCK, comma-separated).
	OutOfStock []string
	// CreditLimit is the in-process credit check's limit per order in minor
	// units, 0 = none (ORDER_CREDIT_LIMIT).
	CreditLimit int64
	// BlockedCustomers are refused by the credit check (ORDER_BLOCKED_CUSTOMERS).
	BlockedCustomers []string
	Commands         command.Config
	// Kafka, when it names bootstrap servers, makes the service consume the
	// saga's commands from CommandTopics (default commands.order) in consumer
	// group CommandGroup (default order-commands); SchemaRegistryURL is then required.
	Kafka             messaging.KafkaConfig
	SchemaRegistryURL string
	CommandTopics     []string
	CommandGroup      string
	Tracing           observe.TracingConfig
	EnvFile           string
	Logger            *slog.Logger
	// Registry, when set, receives the metrics and no /metrics server is started.
	Registry *prometheus.Registry
	// Ready, when set, is called once the gRPC server listens.
	Ready func(grpcAddr, metricsAddr string)
	// Clock is the command handlers' clock; default time.Now.
	Clock func() time.Time
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FromEnv reads DATABASE_URL, KAFKA_BROKERS (and KAFKA_CONFIG_*), SCHEMA_REGISTRY_URL,
// ORDER_COMMAND_TOPICS, ORDER_COMMAND_GROUP, ORDER_GRPC_ADDR, ORDER_METRICS_ADDR, ORDER_TLS_CERT,
// ORDER_TLS_KEY, ORDER_OUT_OF_STOCK, ORDER_CREDIT_LIMIT, ORDER_BLOCKED_CUSTOMERS,
// OTEL_TRACES_EXPORTER (none, stdout, otlp).
func FromEnv() (Config, error) {
	limit, err := strconv.ParseInt(bootstrap.Getenv("ORDER_CREDIT_LIMIT", "0"), 10, 64)
	if err != nil {
		return Config{}, fmt.Errorf("ORDER_CREDIT_LIMIT: %w", err)
	}
	kc, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return Config{}, err
	}
	return Config{
		DatabaseURL:       bootstrap.Getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		GRPCAddr:          bootstrap.Getenv("ORDER_GRPC_ADDR", "127.0.0.1:50051"),
		MetricsAddr:       bootstrap.Getenv("ORDER_METRICS_ADDR", "127.0.0.1:9465"),
		GRPC:              bootstrap.GRPCConfigFromEnv("ORDER"),
		OutOfStock:        split(os.Getenv("ORDER_OUT_OF_STOCK")),
		CreditLimit:       limit,
		BlockedCustomers:  split(os.Getenv("ORDER_BLOCKED_CUSTOMERS")),
		Commands:          command.DefaultConfig,
		Kafka:             kc,
		SchemaRegistryURL: os.Getenv("SCHEMA_REGISTRY_URL"),
		CommandTopics:     split(bootstrap.Getenv("ORDER_COMMAND_TOPICS", ports.CommandTopic)),
		CommandGroup:      bootstrap.Getenv("ORDER_COMMAND_GROUP", "order-commands"),
		Tracing:           observe.TracingConfig{Service: "order", Exporter: bootstrap.Getenv("OTEL_TRACES_EXPORTER", "none")},
	}, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := bootstrap.Required("order", "DATABASE_URL", c.DatabaseURL, "ORDER_GRPC_ADDR", c.GRPCAddr)
	if err := c.GRPC.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("order: %w", err))
	}
	if c.CreditLimit < 0 {
		errs = append(errs, errors.New("order: ORDER_CREDIT_LIMIT is negative"))
	}
	if c.Kafka["bootstrap.servers"] != "" && c.SchemaRegistryURL == "" {
		errs = append(errs, errors.New("order: consuming commands from Kafka needs SCHEMA_REGISTRY_URL"))
	}
	if c.Commands.MaxConflictRetries < 0 {
		errs = append(errs, errors.New("order: negative conflict retries"))
	}
	return errors.Join(errs...)
}

// Run starts the order service and blocks until ctx ends or the server fails.
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
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	pool, err := newPool(ctx, cfg.DatabaseURL, 16)
	if err != nil {
		return fmt.Errorf("order: database: %w", err)
	}
	defer pool.Close()
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "order"); err != nil {
		return err
	}
	store, err := bootstrap.NewStore(ctx, "order", pool, reg)
	if err != nil {
		return err
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		return err
	}
	stream := adapters.NewOrderStream(store, types, adapters.NewStoreDecoder(store, types, up.Decode))
	cmdCfg := cfg.Commands
	if cmdCfg.Answers == nil {
		cmdCfg.Answers = answer.New(store, types) // the saga's repeated commands are answered
	}
	handlers := command.New(stream, adapters.NewStockCheck(cfg.OutOfStock...), adapters.NewCreditCheck(cfg.CreditLimit, cfg.BlockedCustomers...), clock, cmdCfg)

	grpcCfg := cfg.GRPC
	grpcCfg.Logger = log
	srv, hs, err := bootstrap.GRPCServer(ctx, "order", reg, grpcCfg)
	if err != nil {
		return err
	}
	orderv1.RegisterOrderServiceServer(srv, ports.NewOrderServer(handlers, query.NewGetOrder(stream)))
	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("order: listen %s: %w", cfg.GRPCAddr, err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("order", cfg.MetricsAddr, reg, cfg.Registry == nil, "", "ORDER_METRICS_ADDR")
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	var consumer *messaging.Consumer
	var consumerDone chan error
	if cfg.Kafka["bootstrap.servers"] != "" {
		topics := cfg.CommandTopics
		if len(topics) == 0 {
			topics = []string{ports.CommandTopic}
		}
		group := cfg.CommandGroup
		if group == "" {
			group = "order-commands"
		}
		consumerMetrics := messaging.NewMetrics()
		if err := consumerMetrics.Register(reg); err != nil {
			ln.Close()
			return fmt.Errorf("order: metrics: %w", err)
		}
		dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, topics, "")
		defer dlqSize.Close()
		if err := reg.Register(dlqSize); err != nil {
			ln.Close()
			return fmt.Errorf("order: metrics: %w", err)
		}
		schemaRegistry, err := client.ForURL(cfg.SchemaRegistryURL)
		if err != nil {
			return fmt.Errorf("order: schema registry: %w", err)
		}
		consumer, err = messaging.NewConsumer(messaging.ConsumerConfig{
			Group: group, Topics: topics, Kafka: cfg.Kafka, DB: pool,
			Registry: schemaRegistry, Decoder: up,
			Router: ports.CommandRouter(types, handlers, log), Logger: log,
			Metrics: consumerMetrics, OnHandle: observe.ConsumerHook(group), ShutdownTimeout: 10 * time.Second,
		})
		if err != nil {
			ln.Close()
			return fmt.Errorf("order: command consumer: %w", err)
		}
		consumerDone = make(chan error, 1)
		go func() { consumerDone <- consumer.Run(ctx) }()
	}
	go func() { errc <- srv.Serve(ln) }()
	checks := []bootstrap.Check{bootstrap.PoolCheck("database", pool)}
	if cfg.Kafka["bootstrap.servers"] != "" {
		kc, closeKafka, err := bootstrap.KafkaCheck(cfg.Kafka)
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		defer closeKafka()
		checks = append(checks, kc)
	}
	// Health stays NOT_SERVING and the env file unwritten until the command
	// consumer holds its partitions; from then on health follows the checks.
	runErr := bootstrap.ServeUntilDone(ctx, consumer, errc, consumerDone, func() error {
		bootstrap.WatchHealth(ctx, hs, log, 5*time.Second, []string{orderv1.OrderService_ServiceDesc.ServiceName}, checks...)
		log.InfoContext(ctx, "order service running", "grpc", ln.Addr().String(), "metrics", metricsAddr, "tls", cfg.GRPC.TLS(), "auth", cfg.GRPC.Authenticates())
		if cfg.Ready != nil {
			cfg.Ready(ln.Addr().String(), metricsAddr)
		}
		return bootstrap.WriteEnvFile("order", cfg.EnvFile, "ORDER_METRICS_ADDR", metricsAddr, "ORDER_GRPC_ADDR", ln.Addr().String())
	})
	if runErr != nil {
		runErr = fmt.Errorf("order: %w", runErr)
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
	// The consumer leaves its group before the process exits.
	bootstrap.AwaitConsumer(log, "order", consumerDone)
	return runErr
}

// DefaultCommands is the command handlers' default configuration.
func DefaultCommands() command.Config { return command.DefaultConfig }

// newPool opens a pool with up to maxConns connections unless the
// URL sets pool_max_conns (pgx's default, max(4, CPUs), queues concurrent
// commands on a small machine).
func newPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(url, "pool_max_conns") {
		pc.MaxConns = max(pc.MaxConns, maxConns)
	}
	return pgxpool.NewWithConfig(ctx, pc)
}
