package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/ports"
)

// Config configures the payment service; FromEnv fills it.
type Config struct {
	DatabaseURL       string
	Kafka             messaging.KafkaConfig // KAFKA_BROKERS, KAFKA_CONFIG_*
	SchemaRegistryURL string
	TopicPrefix       string // STRATA_TOPIC_PREFIX: prepended to every topic (tests)
	Group             string // PAYMENT_GROUP, default "payment"
	MetricsAddr       string // PAYMENT_METRICS_ADDR, default 127.0.0.1:9467; "off" disables
	Faults            adapters.Faults
	EnvFile           string
	Logger            *slog.Logger
	Registry          *prometheus.Registry // when set, metrics go here and no server is started
	Clock             func() time.Time
	// Gateway, when set, replaces the simulated gateway built from Faults (tests).
	Gateway *adapters.SimulatedGateway
}

// FromEnv reads DATABASE_URL, KAFKA_BROKERS (and KAFKA_CONFIG_*),
// SCHEMA_REGISTRY_URL, STRATA_TOPIC_PREFIX, PAYMENT_GROUP, PAYMENT_METRICS_ADDR
// and the failure injection variables (see adapters.FaultsFromEnv).
func FromEnv() (Config, error) {
	kc, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return Config{}, err
	}
	if kc["bootstrap.servers"] == "" {
		kc["bootstrap.servers"] = "127.0.0.1:9092"
	}
	faults, ferr := adapters.FaultsFromEnv(os.Getenv)
	return Config{
		DatabaseURL:       getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		Kafka:             kc,
		SchemaRegistryURL: getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		TopicPrefix:       os.Getenv("STRATA_TOPIC_PREFIX"),
		Group:             getenv("PAYMENT_GROUP", "payment"),
		MetricsAddr:       getenv("PAYMENT_METRICS_ADDR", "127.0.0.1:9467"),
		Faults:            faults,
	}, ferr
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("payment: DATABASE_URL is empty"))
	}
	if c.Kafka["bootstrap.servers"] == "" {
		errs = append(errs, errors.New("payment: KAFKA_BROKERS is empty"))
	}
	if c.SchemaRegistryURL == "" {
		errs = append(errs, errors.New("payment: SCHEMA_REGISTRY_URL is empty"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("payment: PAYMENT_GROUP is empty"))
	}
	return errors.Join(errs...)
}

// Run runs the payment service until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	shutdownTracing, err := observe.SetupTracingFromEnv(ctx, "payment")
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx)) //nolint:errcheck
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("payment: database: %w", err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("payment: event store migrations: %w", err)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	storeMetrics, err := observe.NewStoreMetrics(reg)
	if err != nil {
		return fmt.Errorf("payment: metrics: %w", err)
	}
	store, err := eventstore.New(pool, eventstore.Config{OnAppend: storeMetrics.Observe})
	if err != nil {
		return err
	}
	if err := reg.Register(observe.NewHeldBackCollector(store)); err != nil {
		return fmt.Errorf("payment: metrics: %w", err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	payments, err := adapters.NewPayments(store, types)
	if err != nil {
		return err
	}
	gateway := cfg.Gateway
	if gateway == nil {
		gateway = adapters.NewSimulatedGateway(cfg.Faults)
	}
	handlers := command.New(payments, gateway, clock, gateway.Delay)

	metrics := messaging.NewMetrics()
	reg.MustRegister(metrics.Collectors()...)
	dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, []string{cfg.TopicPrefix + ports.Topic}, "")
	defer dlqSize.Close()
	reg.MustRegister(dlqSize)
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.TopicPrefix + cfg.Group, Topics: []string{cfg.TopicPrefix + ports.Topic},
		Kafka: consumerKafka(cfg.Kafka), DB: pool, Registry: messaging.NewRegistryClient(cfg.SchemaRegistryURL),
		Decoder: messaging.NewResolvingDecoder(types), Router: ports.Router(types, handlers),
		Metrics: metrics, Logger: log, OnHandle: observe.ConsumerHook(cfg.TopicPrefix + cfg.Group),
	})
	if err != nil {
		return fmt.Errorf("payment: consumer: %w", err)
	}
	metricsAddr := ""
	if cfg.MetricsAddr != "" && cfg.MetricsAddr != "off" && cfg.Registry == nil {
		ms, err := observe.ServeMetrics(cfg.MetricsAddr, reg)
		if err != nil {
			return err
		}
		defer ms.Close(context.WithoutCancel(ctx)) //nolint:errcheck
		metricsAddr = ms.Addr().String()
	}
	if cfg.EnvFile != "" {
		if err := os.WriteFile(cfg.EnvFile, fmt.Appendf(nil, "export PAYMENT_METRICS_ADDR=%s\n", metricsAddr), 0o644); err != nil {
			return fmt.Errorf("payment: env file: %w", err)
		}
	}
	log.InfoContext(ctx, "payment service running", "topic", cfg.TopicPrefix+ports.Topic, "metrics", metricsAddr,
		"decline_customers", cfg.Faults.DeclineCustomers, "fail_refunds", cfg.Faults.FailRefunds, "reply_delay", cfg.Faults.ReplyDelay)
	return consumer.Run(ctx)
}

// consumerKafka lets the consumer subscribe to topics that do not exist yet
// (on a fresh stack the reply topics appear only when the first event is
// relayed): the broker creates them on subscription, and new topics are
// noticed within 5s instead of librdkafka's default 5 minutes.
func consumerKafka(c messaging.KafkaConfig) messaging.KafkaConfig {
	out := messaging.KafkaConfig{"allow.auto.create.topics": "true", "topic.metadata.refresh.interval.ms": "5000"}
	for k, v := range c {
		out[k] = v
	}
	return out
}
