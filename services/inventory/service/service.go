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
	"github.com/stratahq/strata/services/inventory/adapters"
	"github.com/stratahq/strata/services/inventory/app/command"
	"github.com/stratahq/strata/services/inventory/ports"
)

// Config configures the inventory service; FromEnv fills it.
type Config struct {
	DatabaseURL       string
	Kafka             messaging.KafkaConfig // KAFKA_BROKERS, KAFKA_CONFIG_*
	SchemaRegistryURL string
	TopicPrefix       string // STRATA_TOPIC_PREFIX: prepended to every topic (tests)
	Group             string // INVENTORY_GROUP, default "inventory"
	MetricsAddr       string // INVENTORY_METRICS_ADDR, default 127.0.0.1:9468; "off" disables
	Inventory         adapters.Config
	EnvFile           string
	Logger            *slog.Logger
	Registry          *prometheus.Registry // when set, metrics go here and no server is started
	Clock             func() time.Time
	// Faults, when set, replaces the failure injection built from Inventory (tests).
	Faults *adapters.Faults
}

// FromEnv reads DATABASE_URL, KAFKA_BROKERS (and KAFKA_CONFIG_*),
// SCHEMA_REGISTRY_URL, STRATA_TOPIC_PREFIX, INVENTORY_GROUP,
// INVENTORY_METRICS_ADDR and the behaviour variables (see adapters.ConfigFromEnv).
func FromEnv() (Config, error) {
	kc, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return Config{}, err
	}
	if kc["bootstrap.servers"] == "" {
		kc["bootstrap.servers"] = "127.0.0.1:9092"
	}
	invCfg, ferr := adapters.ConfigFromEnv(os.Getenv)
	return Config{
		DatabaseURL:       getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		Kafka:             kc,
		SchemaRegistryURL: getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		TopicPrefix:       os.Getenv("STRATA_TOPIC_PREFIX"),
		Group:             getenv("INVENTORY_GROUP", "inventory"),
		MetricsAddr:       getenv("INVENTORY_METRICS_ADDR", "127.0.0.1:9468"),
		Inventory:         invCfg,
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
		errs = append(errs, errors.New("inventory: DATABASE_URL is empty"))
	}
	if c.Kafka["bootstrap.servers"] == "" {
		errs = append(errs, errors.New("inventory: KAFKA_BROKERS is empty"))
	}
	if c.SchemaRegistryURL == "" {
		errs = append(errs, errors.New("inventory: SCHEMA_REGISTRY_URL is empty"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("inventory: INVENTORY_GROUP is empty"))
	}
	return errors.Join(errs...)
}

// Run runs the inventory service until ctx ends.
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
	shutdownTracing, err := observe.SetupTracingFromEnv(ctx, "inventory")
	if err != nil {
		return err
	}
	defer shutdownTracing(context.WithoutCancel(ctx)) //nolint:errcheck
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("inventory: database: %w", err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("inventory: event store migrations: %w", err)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	storeMetrics, err := observe.NewStoreMetrics(reg)
	if err != nil {
		return fmt.Errorf("inventory: metrics: %w", err)
	}
	store, err := eventstore.New(pool, eventstore.Config{OnAppend: storeMetrics.Observe})
	if err != nil {
		return err
	}
	if err := reg.Register(observe.NewHeldBackCollector(store)); err != nil {
		return fmt.Errorf("inventory: metrics: %w", err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	stocks, err := adapters.NewStocks(store, types)
	if err != nil {
		return err
	}
	reservations, err := adapters.NewReservations(store, types)
	if err != nil {
		return err
	}
	faults := cfg.Faults
	if faults == nil {
		faults = adapters.NewFaults(cfg.Inventory)
	}
	handlers := command.New(stocks, reservations, faults, clock, command.Config{InitialStock: cfg.Inventory.InitialStock})

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
		return fmt.Errorf("inventory: consumer: %w", err)
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
		if err := os.WriteFile(cfg.EnvFile, fmt.Appendf(nil, "export INVENTORY_METRICS_ADDR=%s\n", metricsAddr), 0o644); err != nil {
			return fmt.Errorf("inventory: env file: %w", err)
		}
	}
	log.InfoContext(ctx, "inventory service running", "topic", cfg.TopicPrefix+ports.Topic, "metrics", metricsAddr,
		"out_of_stock", cfg.Inventory.OutOfStockProducts, "reply_delay", cfg.Inventory.ReplyDelay, "initial_stock", cfg.Inventory.InitialStock)
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
