package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
)

const relaySummary = "relay the event store's global log to Kafka (the outbox relay)"

// kafkaProps is a repeatable -X key=value flag.
type kafkaProps struct{ cfg messaging.KafkaConfig }

func (k *kafkaProps) String() string { return "" }
func (k *kafkaProps) Set(v string) error {
	return k.cfg.Set(v)
}

// kafkaFlags registers --brokers and -X over the KAFKA_* environment.
func kafkaFlags(fs *flag.FlagSet) (*kafkaProps, *string, error) {
	cfg, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return nil, nil, err
	}
	props := &kafkaProps{cfg: cfg}
	brokers := fs.String("brokers", cfg["bootstrap.servers"], "Kafka bootstrap servers (default $KAFKA_BROKERS)")
	fs.Var(props, "X", "librdkafka property key=value (repeatable; TLS/SASL settings pass through)")
	return props, brokers, nil
}

// runRelay is `strata relay [flags]`.
func runRelay(ctx context.Context, stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata relay", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprint(stdio.Err, `usage: strata relay [--database-url URL] [--brokers HOSTS] [--registry URL]
                    [--name NAME] [--batch N] [--max-in-flight N] [--progress D] [-X key=value]...
                    [--register-schemas]

Tails the event store's commit-ordered global log and produces each event to
events.<stream type>, keyed by stream id, in the Confluent wire format, with an
idempotent producer (acks=all). The checkpoint is stored in PostgreSQL after
Kafka acknowledges. Instances with the same --name share one lease: one relays,
the others wait and take over. Runs until interrupted.

Writer schemas are registered at deploy (strata schema register); the relay
only looks them up, unless --register-schemas (development). An event type
whose schema the registry refuses, or lacks, is logged with its subject and
the registry's reason and waits (asked again every 15s) with the later events
of its streams; everything else keeps flowing. Registry credentials and TLS:
SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, SCHEMA_REGISTRY_TLS_CA, ... (docs/registry.md).

Kafka settings: KAFKA_BROKERS, KAFKA_CONFIG_FILE (properties file),
KAFKA_CONFIG_<NAME> (e.g. KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL), then -X.
Topics it creates: KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR,
KAFKA_MIN_INSYNC_REPLICAS (unset: the broker's defaults).
`)
		fs.PrintDefaults()
	}
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "event store PostgreSQL URL (default $DATABASE_URL)")
	regURL := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry URL (default $SCHEMA_REGISTRY_URL)")
	name := fs.String("name", "default", "relay name (checkpoint and lease)")
	register := fs.Bool("register-schemas", os.Getenv("RELAY_REGISTER_SCHEMAS") == "true",
		"register writer schemas the registry lacks (development; default $RELAY_REGISTER_SCHEMAS=true; deployments run strata schema register)")
	batch := fs.Int("batch", 0, "events per log read (0: default 2000)")
	inflight := fs.Int("max-in-flight", 0, "unacknowledged events at most (0: default 50000)")
	progress := fs.Duration("progress", 2*time.Second, "print progress this often (0: never)")
	topicPrefix := fs.String("topic-prefix", "", "prefix of every topic name (tests, shared clusters)")
	verbose := fs.Bool("v", false, "debug logs on stderr")
	metricsAddr := fs.String("metrics-addr", os.Getenv("RELAY_METRICS_ADDR"), "serve Prometheus /metrics here, e.g. 127.0.0.1:9464 (default $RELAY_METRICS_ADDR; empty: off)")
	envFile := fs.String("env-file", "", "write export RELAY_METRICS_ADDR=... here once listening (make env)")
	props, brokers, err := kafkaFlags(fs)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	var missing []string
	if *dbURL == "" {
		missing = append(missing, "--database-url/DATABASE_URL")
	}
	if *brokers == "" {
		missing = append(missing, "--brokers/KAFKA_BROKERS")
	}
	if *regURL == "" {
		missing = append(missing, "--registry/SCHEMA_REGISTRY_URL")
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "strata relay: missing %s; unexpected %q\n", strings.Join(missing, ", "), fs.Args())
		return ExitUsage
	}
	props.cfg["bootstrap.servers"] = *brokers
	topics, err := messaging.TopicSettingsFromEnv(os.Environ())
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}

	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}
	defer pool.Close()
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}
	log := messaging.NewStoreLog(store)
	defer log.Close(context.Background())
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	route := messaging.DefaultRoute
	if *topicPrefix != "" {
		p := *topicPrefix
		route = func(e *messaging.LogEvent) string { return p + messaging.DefaultRoute(e) }
	}
	reg, err := client.ForURL(*regURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}
	cfg := messaging.RelayConfig{
		Name: *name, Log: log, DB: pool, Registry: reg, RegisterSchemas: *register,
		Kafka: props.cfg, Route: route, Topics: topics, BatchSize: *batch, MaxInFlight: *inflight,
		Logger: slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: level})),
	}
	if *progress > 0 {
		cfg.ProgressEvery = *progress
		cfg.Progress = func(p messaging.RelayProgress) {
			if !p.Leader {
				fmt.Fprintf(stdio.Out, "relay %s: standby (another instance holds the lease)\n", *name)
				return
			}
			fmt.Fprintf(stdio.Out, "relay %s: acked=%d in_flight=%d checkpoint=%d:%d lag_events=%d lag_seconds=%.3f held=%d\n",
				*name, p.Acked, p.InFlight, p.Checkpoint.TxID, p.Checkpoint.Position, p.LagEvents, p.LagSeconds, p.Held)
		}
	}
	if *metricsAddr != "" {
		reg := observe.NewRegistry()
		mm := messaging.NewMetrics()
		if err := mm.Register(reg); err != nil {
			fmt.Fprintf(stdio.Err, "strata relay: metrics: %v\n", err)
			return ExitFail
		}
		if err := reg.Register(observe.NewHeldBackCollector(store)); err != nil {
			fmt.Fprintf(stdio.Err, "strata relay: metrics: %v\n", err)
			return ExitFail
		}
		cfg.Metrics = mm
		ms, err := observe.ServeMetrics(*metricsAddr, reg)
		if err != nil {
			fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
			return ExitUsage
		}
		defer ms.Close(context.WithoutCancel(ctx)) //nolint:errcheck
		if *envFile != "" {
			if err := os.WriteFile(*envFile, fmt.Appendf(nil, "export RELAY_METRICS_ADDR=%s\n", ms.Addr()), 0o644); err != nil {
				fmt.Fprintf(stdio.Err, "strata relay: env file: %v\n", err)
				return ExitUsage
			}
		}
	}
	r, err := messaging.NewRelay(cfg)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stdio.Out, "relay %s: starting (brokers %s)\n", *name, *brokers)
	if err := r.Run(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "strata relay: %v\n", err)
		return ExitFail
	}
	fmt.Fprintf(stdio.Out, "relay %s: stopped\n", *name)
	return ExitOK
}
