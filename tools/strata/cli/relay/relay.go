// Package relay is `strata relay`: the outbox relay from the event store's
// global log to Kafka.
package relay

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata relay [flags]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "relay the event store's global log to Kafka (the outbox relay)",
		Long: `Tails the event store's commit-ordered global log and produces each event to
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
KAFKA_MIN_INSYNC_REPLICAS (unset: the broker's defaults).`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	dbURL := clikit.DatabaseURL(cmd)
	regURL := clikit.Registry(cmd)
	kafka := clikit.KafkaFlags(cmd)
	name := f.String("name", "default", "relay name (checkpoint and lease)")
	register := f.Bool("register-schemas", os.Getenv("RELAY_REGISTER_SCHEMAS") == "true",
		"register writer schemas the registry lacks (development; env RELAY_REGISTER_SCHEMAS=true; deployments run strata schema register)")
	batch := f.Int("batch", 0, "events per log read (0: default 2000)")
	inflight := f.Int("max-in-flight", 0, "unacknowledged events at most (0: default 50000)")
	progress := f.Duration("progress", 2*time.Second, "print progress this often (0: never)")
	topicPrefix := f.String("topic-prefix", "", "prefix of every topic name (tests, shared clusters)")
	verbose := f.BoolP("verbose", "v", false, "debug logs on stderr")
	metricsAddr := f.String("metrics-addr", os.Getenv("RELAY_METRICS_ADDR"), "serve Prometheus /metrics here, e.g. 127.0.0.1:9464 (env RELAY_METRICS_ADDR; empty: off)")
	envFile := f.String("env-file", "", "write export RELAY_METRICS_ADDR=... here once listening (make env)")
	cmd.AddCommand(quarantineCommand())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		var missing []string
		if *dbURL == "" {
			missing = append(missing, "--database-url/DATABASE_URL")
		}
		if kafka.Brokers == "" {
			missing = append(missing, "--brokers/KAFKA_BROKERS")
		}
		if *regURL == "" {
			missing = append(missing, "--registry/SCHEMA_REGISTRY_URL")
		}
		if len(missing) > 0 {
			return clikit.Usagef("missing %s", strings.Join(missing, ", "))
		}
		kcfg, err := kafka.Config()
		if err != nil {
			return err
		}
		topics, err := messaging.TopicSettingsFromEnv(os.Environ())
		if err != nil {
			return clikit.Unavailable(err)
		}
		pool, err := pgxpool.New(ctx, *dbURL)
		if err != nil {
			return clikit.Unavailable(err)
		}
		defer pool.Close()
		store, err := eventstore.New(pool, eventstore.Config{})
		if err != nil {
			return clikit.Unavailable(err)
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
			return clikit.Usagef("%v", err)
		}
		cfg := messaging.RelayConfig{
			Name: *name, Log: log, DB: pool, Registry: reg, RegisterSchemas: *register,
			Kafka: kcfg, Route: route, Topics: topics, BatchSize: *batch, MaxInFlight: *inflight,
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		}
		if *progress > 0 {
			cfg.ProgressEvery = *progress
			cfg.Progress = func(p messaging.RelayProgress) {
				if !p.Leader {
					fmt.Fprintf(stdout, "relay %s: standby (another instance holds the lease)\n", *name)
					return
				}
				fmt.Fprintf(stdout, "relay %s: acked=%d in_flight=%d checkpoint=%d:%d lag_events=%d lag_seconds=%.3f held=%d\n",
					*name, p.Acked, p.InFlight, p.Checkpoint.TxID, p.Checkpoint.Position, p.LagEvents, p.LagSeconds, p.Held)
			}
		}
		if *metricsAddr != "" {
			reg := observe.NewRegistry()
			if err := observe.RegisterBuildInfo(reg, "relay"); err != nil {
				return err
			}
			mm := messaging.NewMetrics()
			if err := mm.Register(reg); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			if err := reg.Register(observe.NewHeldBackCollector(store)); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			cfg.Metrics = mm
			ms, err := observe.ServeMetrics(*metricsAddr, reg)
			if err != nil {
				return clikit.Unavailable(err)
			}
			defer ms.Close(context.WithoutCancel(ctx)) //nolint:errcheck
			if *envFile != "" {
				if err := os.WriteFile(*envFile, fmt.Appendf(nil, "export RELAY_METRICS_ADDR=%s\n", ms.Addr()), 0o644); err != nil {
					return clikit.Unavailable(fmt.Errorf("env file: %w", err))
				}
			}
		}
		r, err := messaging.NewRelay(cfg)
		if err != nil {
			return clikit.Unavailable(err)
		}
		fmt.Fprintf(stdout, "relay %s: starting (brokers %s)\n", *name, kafka.Brokers)
		if err := r.Run(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "relay %s: stopped\n", *name)
		return nil
	}
	return cmd
}
