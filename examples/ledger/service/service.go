// Package service wires the ledger: the event store with the accounts
// aggregate, the relay that publishes its events to Kafka, the consumer that
// feeds the accounts projection, and the gRPC server.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/examples/ledger/adapters"
	"github.com/stratahq/strata/examples/ledger/app/command"
	"github.com/stratahq/strata/examples/ledger/app/query"
	"github.com/stratahq/strata/examples/ledger/gen/events"
	ledgerv1 "github.com/stratahq/strata/examples/ledger/gen/proto/bank/ledger/v1"
	"github.com/stratahq/strata/examples/ledger/ports"
	"github.com/stratahq/strata/examples/ledger/upcast"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/upcasters"
)

// Config configures the ledger; FromEnv fills it from the environment.
type Config struct {
	DatabaseURL       string                // DATABASE_URL
	Kafka             messaging.KafkaConfig // KAFKA_BROKERS, KAFKA_CONFIG_*
	SchemaRegistryURL string                // SCHEMA_REGISTRY_URL (credentials and TLS: SCHEMA_REGISTRY_*, see registry/client)
	RegisterSchemas   bool                  // LEDGER_REGISTER_SCHEMAS=true: the relay registers new writer schemas (development)
	GRPCAddr          string                // LEDGER_GRPC_ADDR, default 127.0.0.1:50061
	MetricsAddr       string                // LEDGER_METRICS_ADDR, default 127.0.0.1:9475; "off" disables
	GRPC              bootstrap.GRPCConfig  // LEDGER_TLS_*, LEDGER_JWKS_URL, LEDGER_JWT_* (bootstrap.GRPCConfigFromEnv)
	TopicPrefix       string                // LEDGER_TOPIC_PREFIX: prefixes topics, group and relay name (tests)
	EnvFile           string                // -env-file
	Logger            *slog.Logger          // default slog.Default()
	Registry          *prometheus.Registry  // nil: a new one, served at MetricsAddr
	Now               func() time.Time      // the clock, default time.Now
	Ready             func(grpcAddr string) // called once serving
}

// FromEnv reads the configuration from the environment.
func FromEnv() (Config, error) {
	kc, err := bootstrap.KafkaFromEnv()
	if err != nil {
		return Config{}, err
	}
	return Config{
		DatabaseURL:       os.Getenv("DATABASE_URL"),
		Kafka:             kc,
		SchemaRegistryURL: os.Getenv("SCHEMA_REGISTRY_URL"),
		GRPCAddr:          bootstrap.Getenv("LEDGER_GRPC_ADDR", "127.0.0.1:50061"),
		MetricsAddr:       bootstrap.Getenv("LEDGER_METRICS_ADDR", "127.0.0.1:9475"),
		GRPC:              bootstrap.GRPCConfigFromEnv("LEDGER"),
		TopicPrefix:       os.Getenv("LEDGER_TOPIC_PREFIX"),
		RegisterSchemas:   os.Getenv("LEDGER_REGISTER_SCHEMAS") == "true",
	}, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := bootstrap.Required("ledger", "DATABASE_URL", c.DatabaseURL, "SCHEMA_REGISTRY_URL", c.SchemaRegistryURL,
		"KAFKA_BROKERS", c.Kafka["bootstrap.servers"], "LEDGER_GRPC_ADDR", c.GRPCAddr)
	if err := c.GRPC.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ledger: %w", err))
	}
	return errors.Join(errs...)
}

// Run serves the ledger until ctx ends or a component fails.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "ledger"); err != nil {
		return err
	}
	pool, store, err := bootstrap.OpenStore(ctx, "ledger", cfg.DatabaseURL, reg)
	if err != nil {
		return err
	}
	defer pool.Close()
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		return err
	}
	accounts, err := adapters.NewAccounts(store, types, up)
	if err != nil {
		return err
	}

	// The read side: Kafka -> consumer -> accounts projection.
	runner := projection.NewRunner(pool, adapters.AccountsProjection{})
	if err := runner.Setup(ctx); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	router := messaging.NewRouter(types)
	runner.Register(router)
	registry, err := client.ForURL(cfg.SchemaRegistryURL)
	if err != nil {
		return fmt.Errorf("ledger: schema registry: %w", err)
	}
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.TopicPrefix + "ledger-projection", Topics: []string{cfg.TopicPrefix + "events." + adapters.StreamType},
		Kafka: cfg.Kafka, DB: pool, Registry: registry, Decoder: up, Router: router, Logger: log,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second, CommitInterval: 200 * time.Millisecond,
		OnHandle: observe.ConsumerHook("ledger-projection"),
	})
	if err != nil {
		return fmt.Errorf("ledger: consumer: %w", err)
	}
	// The outbox: event store -> relay -> Kafka.
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: cfg.TopicPrefix + "ledger", Log: messaging.NewStoreLog(store), DB: pool, Registry: registry, Kafka: cfg.Kafka,
		RegisterSchemas: cfg.RegisterSchemas,
		Route:           func(e *messaging.LogEvent) string { return cfg.TopicPrefix + messaging.DefaultRoute(e) },
		Logger:          log,
	})
	if err != nil {
		return fmt.Errorf("ledger: relay: %w", err)
	}

	grpcCfg := cfg.GRPC
	grpcCfg.Logger = log
	srv, hs, err := bootstrap.GRPCServer(ctx, "ledger", reg, grpcCfg)
	if err != nil {
		return err
	}
	ledgerv1.RegisterLedgerServiceServer(srv, ports.NewServer(command.New(accounts, now), query.New(adapters.NewReadModel(pool), 5*time.Second), log))
	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("ledger: listen %s: %w", cfg.GRPCAddr, err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("ledger", cfg.MetricsAddr, reg, cfg.Registry == nil, cfg.EnvFile, "LEDGER_METRICS_ADDR", "LEDGER_GRPC_ADDR", ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck
	kafkaCheck, closeKafka, err := bootstrap.KafkaCheck(cfg.Kafka)
	if err != nil {
		ln.Close()
		return fmt.Errorf("ledger: %w", err)
	}
	defer closeKafka()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	background := func(name string, run func(context.Context) error) {
		go func() {
			err := run(ctx)
			if ctx.Err() != nil {
				err = nil
			} else {
				err = fmt.Errorf("ledger: %s stopped: %w", name, err)
			}
			errc <- err
		}()
	}
	background("relay", relay.Run)
	background("consumer", consumer.Run)
	go func() { errc <- srv.Serve(ln) }()
	bootstrap.WatchHealth(ctx, hs, log, 5*time.Second, []string{ledgerv1.LedgerService_ServiceDesc.ServiceName},
		bootstrap.PoolCheck("database", pool), kafkaCheck)
	log.InfoContext(ctx, "ledger running", "grpc", ln.Addr().String(), "metrics", metricsAddr, "auth", cfg.GRPC.Authenticates())
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	hs.Shutdown()
	cancel()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		srv.Stop()
	}
	return runErr
}
