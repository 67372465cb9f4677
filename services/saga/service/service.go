package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/saga/adapters"
	"github.com/stratahq/strata/services/saga/app"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
	"github.com/stratahq/strata/services/saga/ports"
)

// Config configures the orchestrator; FromEnv fills it.
type Config struct {
	DatabaseURL       string
	Kafka             messaging.KafkaConfig // KAFKA_BROKERS, KAFKA_CONFIG_*
	SchemaRegistryURL string
	TopicPrefix       string // STRATA_TOPIC_PREFIX: prepended to every topic (tests)
	Group             string // SAGA_GROUP, default "saga-orchestrator"
	MetricsAddr       string // SAGA_METRICS_ADDR, default 127.0.0.1:9469; "off" disables
	// Timeouts per step (SAGA_PAYMENT_TIMEOUT, SAGA_INVENTORY_TIMEOUT,
	// SAGA_ORDER_TIMEOUT, SAGA_COMPENSATION_TIMEOUT; default 30s each).
	Timeouts fulfilment.Timeouts
	// MaxCompensationAttempts before a saga parks (SAGA_MAX_COMPENSATION_ATTEMPTS, default 3).
	MaxCompensationAttempts int
	// RetryDelay between compensation attempts (SAGA_RETRY_DELAY, default 1s).
	RetryDelay time.Duration
	// PollInterval of the outbox relay and deadline scanner (SAGA_POLL_INTERVAL, default 100ms).
	PollInterval time.Duration
	EnvFile      string
	Logger       *slog.Logger
	Registry     *prometheus.Registry // when set, metrics go here and no server is started
	// Ready, when set, is called with the engine once it runs (tests).
	Ready func(*saga.Engine)
}

// FromEnv reads the configuration from the environment (see Config).
func FromEnv() (Config, error) {
	kc, err := bootstrap.KafkaFromEnv()
	if err != nil {
		return Config{}, err
	}
	var errs []error
	dur := func(k string, def time.Duration) time.Duration {
		v := os.Getenv(k)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30s", k, v))
			return def
		}
		return d
	}
	attempts := 3
	if v := os.Getenv("SAGA_MAX_COMPENSATION_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("SAGA_MAX_COMPENSATION_ATTEMPTS=%q: want a whole number >= 1", v))
		} else {
			attempts = n
		}
	}
	cfg := Config{
		DatabaseURL:       bootstrap.Getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		Kafka:             kc,
		SchemaRegistryURL: bootstrap.Getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		TopicPrefix:       os.Getenv("STRATA_TOPIC_PREFIX"),
		Group:             bootstrap.Getenv("SAGA_GROUP", "saga-orchestrator"),
		MetricsAddr:       bootstrap.Getenv("SAGA_METRICS_ADDR", "127.0.0.1:9469"),
		Timeouts: fulfilment.Timeouts{
			Payment:      dur("SAGA_PAYMENT_TIMEOUT", 30*time.Second),
			Inventory:    dur("SAGA_INVENTORY_TIMEOUT", 30*time.Second),
			Order:        dur("SAGA_ORDER_TIMEOUT", 30*time.Second),
			Compensation: dur("SAGA_COMPENSATION_TIMEOUT", 30*time.Second),
		},
		MaxCompensationAttempts: attempts,
		RetryDelay:              dur("SAGA_RETRY_DELAY", time.Second),
		PollInterval:            dur("SAGA_POLL_INTERVAL", 100*time.Millisecond),
	}
	return cfg, errors.Join(errs...)
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := bootstrap.Required("saga", "DATABASE_URL", c.DatabaseURL, "KAFKA_BROKERS", c.Kafka["bootstrap.servers"],
		"SCHEMA_REGISTRY_URL", c.SchemaRegistryURL, "SAGA_GROUP", c.Group)
	if c.MaxCompensationAttempts < 0 {
		errs = append(errs, errors.New("saga: negative SAGA_MAX_COMPENSATION_ATTEMPTS"))
	}
	return errors.Join(errs...)
}

// Run runs the orchestrator until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	shutdownTracing, err := observe.SetupTracingFromEnv(ctx, "saga")
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx)) //nolint:errcheck
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("saga: database: %w", err)
	}
	defer pool.Close()
	if err := saga.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("saga: migrations: %w", err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	regClient, err := client.ForURL(cfg.SchemaRegistryURL)
	if err != nil {
		return fmt.Errorf("saga: schema registry: %w", err)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "saga"); err != nil {
		return err
	}
	engine, err := saga.New(pool, saga.Config{
		Encoder:                 adapters.NewRegistryEncoder(types, regClient),
		MaxCompensationAttempts: cfg.MaxCompensationAttempts,
		CompensationRetryDelay:  cfg.RetryDelay,
		Registerer:              reg,
		Logger:                  log,
	}, fulfilment.Definition(cfg.Timeouts))
	if err != nil {
		return err
	}
	if err := reg.Register(saga.NewStatesCollector(pool)); err != nil {
		return fmt.Errorf("saga: metrics: %w", err)
	}
	if err := reg.Register(observe.NewSagaAgeCollector(pool)); err != nil {
		return fmt.Errorf("saga: metrics: %w", err)
	}
	transport, err := adapters.NewKafkaTransport(cfg.Kafka, cfg.TopicPrefix, 30*time.Second)
	if err != nil {
		return err
	}
	defer transport.Close()
	metrics := messaging.NewMetrics()
	reg.MustRegister(metrics.Collectors()...)
	topics := make([]string, len(ports.Topics))
	for i, t := range ports.Topics {
		topics[i] = cfg.TopicPrefix + t
	}
	dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, topics, "")
	defer dlqSize.Close()
	reg.MustRegister(dlqSize)
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.TopicPrefix + cfg.Group, Topics: topics,
		Kafka: cfg.Kafka, DB: pool, Registry: regClient,
		Decoder: messaging.NewResolvingDecoder(types), Router: ports.Router(types, app.New(engine)),
		Metrics: metrics, Logger: log, OnHandle: observe.ConsumerHook(cfg.TopicPrefix + cfg.Group),
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("saga: consumer: %w", err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("saga", cfg.MetricsAddr, reg, cfg.Registry == nil, "", "SAGA_METRICS_ADDR")
	if err != nil {
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = engine.Run(ctx, transport, saga.RunOptions{PollInterval: cfg.PollInterval})
	}()
	log.InfoContext(ctx, "saga orchestrator running", "topics", topics, "metrics", metricsAddr, "timeouts", fmt.Sprintf("%+v", cfg.Timeouts))
	// Ready (env file written) only once the consumer holds its partitions.
	err = bootstrap.RunConsumer(ctx, consumer, func() error {
		if cfg.Ready != nil {
			cfg.Ready(engine)
		}
		return bootstrap.WriteEnvFile("saga", cfg.EnvFile, "SAGA_METRICS_ADDR", metricsAddr)
	})
	cancel()
	wg.Wait()
	return err
}
