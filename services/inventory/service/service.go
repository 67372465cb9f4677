package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/saga/answer"
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
	kc, err := bootstrap.KafkaFromEnv()
	if err != nil {
		return Config{}, err
	}
	invCfg, ferr := adapters.ConfigFromEnv(os.Getenv)
	return Config{
		DatabaseURL:       bootstrap.Getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		Kafka:             kc,
		SchemaRegistryURL: bootstrap.Getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		TopicPrefix:       os.Getenv("STRATA_TOPIC_PREFIX"),
		Group:             bootstrap.Getenv("INVENTORY_GROUP", "inventory"),
		MetricsAddr:       bootstrap.Getenv("INVENTORY_METRICS_ADDR", "127.0.0.1:9468"),
		Inventory:         invCfg,
	}, ferr
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	return errors.Join(bootstrap.Required("inventory", "DATABASE_URL", c.DatabaseURL, "KAFKA_BROKERS", c.Kafka["bootstrap.servers"],
		"SCHEMA_REGISTRY_URL", c.SchemaRegistryURL, "INVENTORY_GROUP", c.Group)...)
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
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "inventory"); err != nil {
		return err
	}
	pool, store, err := bootstrap.OpenStore(ctx, "inventory", cfg.DatabaseURL, reg)
	if err != nil {
		return err
	}
	defer pool.Close()
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
	handlers := command.New(stocks, reservations, faults, answer.New(store, types), clock, command.Config{InitialStock: cfg.Inventory.InitialStock})

	metrics := messaging.NewMetrics()
	reg.MustRegister(metrics.Collectors()...)
	dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, []string{cfg.TopicPrefix + ports.Topic}, "")
	defer dlqSize.Close()
	reg.MustRegister(dlqSize)
	schemaRegistry, err := client.ForURL(cfg.SchemaRegistryURL)
	if err != nil {
		return fmt.Errorf("inventory: schema registry: %w", err)
	}
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.TopicPrefix + cfg.Group, Topics: []string{cfg.TopicPrefix + ports.Topic},
		Kafka: cfg.Kafka, DB: pool, Registry: schemaRegistry,
		Decoder: messaging.NewResolvingDecoder(types), Router: ports.Router(types, handlers),
		Metrics: metrics, Logger: log, OnHandle: observe.ConsumerHook(cfg.TopicPrefix + cfg.Group),
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("inventory: consumer: %w", err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("inventory", cfg.MetricsAddr, reg, cfg.Registry == nil, "", "INVENTORY_METRICS_ADDR")
	if err != nil {
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck
	log.InfoContext(ctx, "inventory service running", "topic", cfg.TopicPrefix+ports.Topic, "metrics", metricsAddr,
		"out_of_stock", cfg.Inventory.OutOfStockProducts, "reply_delay", cfg.Inventory.ReplyDelay, "initial_stock", cfg.Inventory.InitialStock)
	// Ready (env file written) only once the consumer holds its partitions.
	return bootstrap.RunConsumer(ctx, consumer, func() error {
		return bootstrap.WriteEnvFile("inventory", cfg.EnvFile, "INVENTORY_METRICS_ADDR", metricsAddr)
	})
}
