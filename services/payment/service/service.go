package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	// GatewayURL (PAYMENT_GATEWAY_URL), when set, is a card gateway served
	// over HTTP (adapters.GatewayHandler) used instead of the in-process one.
	GatewayURL string
}

// FromEnv reads DATABASE_URL, KAFKA_BROKERS (and KAFKA_CONFIG_*),
// SCHEMA_REGISTRY_URL, STRATA_TOPIC_PREFIX, PAYMENT_GROUP, PAYMENT_METRICS_ADDR
// and the failure injection variables (see adapters.FaultsFromEnv).
func FromEnv() (Config, error) {
	kc, err := bootstrap.KafkaFromEnv()
	if err != nil {
		return Config{}, err
	}
	faults, ferr := adapters.FaultsFromEnv(os.Getenv)
	return Config{
		DatabaseURL:       bootstrap.Getenv("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"),
		Kafka:             kc,
		SchemaRegistryURL: bootstrap.Getenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"),
		TopicPrefix:       os.Getenv("STRATA_TOPIC_PREFIX"),
		Group:             bootstrap.Getenv("PAYMENT_GROUP", "payment"),
		MetricsAddr:       bootstrap.Getenv("PAYMENT_METRICS_ADDR", "127.0.0.1:9467"),
		Faults:            faults,
		GatewayURL:        os.Getenv("PAYMENT_GATEWAY_URL"),
	}, ferr
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	return errors.Join(bootstrap.Required("payment", "DATABASE_URL", c.DatabaseURL, "KAFKA_BROKERS", c.Kafka["bootstrap.servers"],
		"SCHEMA_REGISTRY_URL", c.SchemaRegistryURL, "PAYMENT_GROUP", c.Group)...)
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
	reg := cfg.Registry
	if reg == nil {
		reg = observe.NewRegistry()
	}
	if err := observe.RegisterBuildInfo(reg, "payment"); err != nil {
		return err
	}
	pool, store, err := bootstrap.OpenStore(ctx, "payment", cfg.DatabaseURL, reg)
	if err != nil {
		return err
	}
	defer pool.Close()
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return err
	}
	payments, err := adapters.NewPayments(store, types)
	if err != nil {
		return err
	}
	simulated := cfg.Gateway
	if simulated == nil {
		simulated = adapters.NewSimulatedGateway(cfg.Faults)
	}
	var gateway command.Gateway = simulated
	if cfg.GatewayURL != "" {
		gateway = &adapters.HTTPGateway{URL: cfg.GatewayURL, Client: &http.Client{Timeout: 10 * time.Second}}
	}
	handlers := command.New(payments, gateway, answer.New(store, types), clock, simulated.Delay)

	metrics := messaging.NewMetrics()
	reg.MustRegister(metrics.Collectors()...)
	dlqSize := observe.NewDLQSizeCollector(cfg.Kafka, []string{cfg.TopicPrefix + ports.Topic}, "")
	defer dlqSize.Close()
	reg.MustRegister(dlqSize)
	schemaRegistry, err := client.ForURL(cfg.SchemaRegistryURL)
	if err != nil {
		return fmt.Errorf("payment: schema registry: %w", err)
	}
	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: cfg.TopicPrefix + cfg.Group, Topics: []string{cfg.TopicPrefix + ports.Topic},
		Kafka: cfg.Kafka, DB: pool, Registry: schemaRegistry,
		Decoder: messaging.NewResolvingDecoder(types), Router: ports.Router(types, handlers),
		Metrics: metrics, Logger: log, OnHandle: observe.ConsumerHook(cfg.TopicPrefix + cfg.Group),
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("payment: consumer: %w", err)
	}
	metricsAddr, stopMetrics, err := bootstrap.ServeMetrics("payment", cfg.MetricsAddr, reg, cfg.Registry == nil, "", "PAYMENT_METRICS_ADDR")
	if err != nil {
		return err
	}
	defer stopMetrics(context.WithoutCancel(ctx)) //nolint:errcheck
	log.InfoContext(ctx, "payment service running", "topic", cfg.TopicPrefix+ports.Topic, "metrics", metricsAddr,
		"decline_customers", cfg.Faults.DeclineCustomers, "fail_refunds", cfg.Faults.FailRefunds, "reply_delay", cfg.Faults.ReplyDelay)
	// Ready (env file written) only once the consumer holds its partitions.
	return bootstrap.RunConsumer(ctx, consumer, func() error {
		return bootstrap.WriteEnvFile("payment", cfg.EnvFile, "PAYMENT_METRICS_ADDR", metricsAddr)
	})
}
