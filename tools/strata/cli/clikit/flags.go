package clikit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
)

// DatabaseURL adds --database-url (default $DATABASE_URL) to cmd.
func DatabaseURL(cmd *cobra.Command) *string {
	return cmd.Flags().String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
}

// RequireDatabase is a usage error when url is empty.
func RequireDatabase(url string) error {
	if url == "" {
		return Usagef("no database: set --database-url or DATABASE_URL")
	}
	return nil
}

// Registry adds --registry (default $SCHEMA_REGISTRY_URL) to cmd.
func Registry(cmd *cobra.Command) *string {
	return cmd.Flags().String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry URL (env SCHEMA_REGISTRY_URL)")
}

// Timeout adds --timeout with default def to cmd.
func Timeout(cmd *cobra.Command, def time.Duration) *time.Duration {
	return cmd.Flags().Duration("timeout", def, "give up after this long")
}

// Kafka holds --brokers and the repeatable -X key=value librdkafka
// properties, over the KAFKA_* environment (messaging.KafkaConfigFromEnv).
type Kafka struct {
	Brokers string
	props   kafkaProps
}

type kafkaProps struct {
	cfg messaging.KafkaConfig
	err error
}

func (k *kafkaProps) String() string { return "" }
func (k *kafkaProps) Type() string   { return "key=value" }
func (k *kafkaProps) Set(v string) error {
	if k.cfg == nil {
		k.cfg = messaging.KafkaConfig{}
	}
	return k.cfg.Set(v)
}

// KafkaFlags adds --brokers (default $KAFKA_BROKERS) and -X to cmd.
func KafkaFlags(cmd *cobra.Command) *Kafka {
	cfg, err := messaging.KafkaConfigFromEnv(os.Environ())
	k := &Kafka{props: kafkaProps{cfg: cfg, err: err}}
	if cfg != nil {
		k.Brokers = cfg["bootstrap.servers"]
	}
	cmd.Flags().StringVar(&k.Brokers, "brokers", k.Brokers, "Kafka bootstrap servers (env KAFKA_BROKERS)")
	cmd.Flags().VarP(&k.props, "kafka-property", "X", "librdkafka property key=value (repeatable; TLS/SASL settings pass through)")
	return k
}

// Config is the Kafka configuration: the environment's, then -X, then
// --brokers. A bad environment or no brokers is a usage error.
func (k *Kafka) Config() (messaging.KafkaConfig, error) {
	if k.props.err != nil {
		return nil, &UsageError{Err: k.props.err}
	}
	if k.Brokers == "" {
		return nil, &UsageError{Err: errors.New("no Kafka: set --brokers or KAFKA_BROKERS")}
	}
	cfg := messaging.KafkaConfig{}
	for key, v := range k.props.cfg {
		cfg[key] = v
	}
	cfg["bootstrap.servers"] = k.Brokers
	return cfg, nil
}

// Connect opens a pool on url and pings it; failures are Unavailable.
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if err := RequireDatabase(url); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, Unavailable(fmt.Errorf("database: %w", err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, Unavailable(fmt.Errorf("connect: %w", err))
	}
	return pool, nil
}

// OpenStore connects to url and opens the event store on it (without
// LISTEN/NOTIFY); close the pool when done.
func OpenStore(ctx context.Context, url string) (*pgxpool.Pool, *eventstore.Store, error) {
	pool, err := Connect(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	store, err := eventstore.New(pool, eventstore.Config{NoNotify: true})
	if err != nil {
		pool.Close()
		return nil, nil, Unavailable(err)
	}
	return pool, store, nil
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
