package bootstrap

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
)

// Main runs the service command name: it reads the configuration with
// fromEnv, lets setup put the logger (JSON on stderr) into it and bind flags
// to its fields, parses the command line and calls run until SIGINT or
// SIGTERM. An error from fromEnv or run is printed as "name: error" and
// exits 1.
func Main[C any](name string, fromEnv func() (C, error), setup func(*C, *flag.FlagSet, *slog.Logger), run func(context.Context, C) error) {
	cfg, err := fromEnv()
	if err == nil {
		setup(&cfg, flag.CommandLine, observe.NewLogger(os.Stderr, slog.LevelInfo))
		flag.Parse()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, cfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Flags binds -metrics-addr and -env-file, and -grpc-addr unless grpcAddr
// is nil, to the given fields; the fields' values are the defaults, except
// that -env-file defaults to none.
func Flags(fs *flag.FlagSet, grpcAddr, metricsAddr, envFile *string) {
	if grpcAddr != nil {
		fs.StringVar(grpcAddr, "grpc-addr", *grpcAddr, "gRPC listen address")
	}
	fs.StringVar(metricsAddr, "metrics-addr", *metricsAddr, "metrics listen address (off to disable)")
	fs.StringVar(envFile, "env-file", "", "write the bound addresses as export lines to this file")
}

// Getenv returns the environment variable k, or def when it is unset or empty.
func Getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// KafkaFromEnv reads KAFKA_BROKERS and KAFKA_CONFIG_* (see
// messaging.KafkaConfigFromEnv), with brokers 127.0.0.1:9092 when none are set.
func KafkaFromEnv() (messaging.KafkaConfig, error) {
	kc, err := messaging.KafkaConfigFromEnv(os.Environ())
	if err != nil {
		return nil, err
	}
	if kc["bootstrap.servers"] == "" {
		kc["bootstrap.servers"] = "127.0.0.1:9092"
	}
	return kc, nil
}

// OpenStore opens a pool on databaseURL and the event store in it (see
// NewStore). Errors start with "name: ".
func OpenStore(ctx context.Context, name, databaseURL string, reg prometheus.Registerer) (*pgxpool.Pool, *eventstore.Store, error) {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: database: %w", name, err)
	}
	store, err := NewStore(ctx, name, pool, reg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, store, nil
}

// NewStore migrates the event store schema in pool and opens the store
// with its append and held-back metrics registered in reg. Errors start
// with "name: ".
func NewStore(ctx context.Context, name string, pool *pgxpool.Pool, reg prometheus.Registerer) (*eventstore.Store, error) {
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		return nil, fmt.Errorf("%s: event store migrations: %w", name, err)
	}
	storeMetrics, err := observe.NewStoreMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", name, err)
	}
	store, err := eventstore.New(pool, eventstore.Config{OnAppend: storeMetrics.Observe})
	if err != nil {
		return nil, err
	}
	if err := reg.Register(observe.NewHeldBackCollector(store)); err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", name, err)
	}
	return store, nil
}

// Required returns an error "name: VAR is empty" for each pair of kv
// (variable name, value) whose value is empty, in order.
func Required(name string, kv ...string) []error {
	var errs []error
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			errs = append(errs, fmt.Errorf("%s: %s is empty", name, kv[i]))
		}
	}
	return errs
}

// ServeMetrics serves reg at /metrics on addr, unless serve is false (the
// caller gave the service its registry) or addr is "" or "off". Then, when
// envFile is set, it writes there the export lines of env (pairs of variable
// name and value) and of metricsVar set to the bound address. It returns the
// bound address ("" when not serving) and a function that stops the server.
// Errors of the env file start with "name: env file: ".
func ServeMetrics(name, addr string, reg prometheus.Gatherer, serve bool, envFile, metricsVar string, env ...string) (string, func(context.Context) error, error) {
	bound, stop := "", func(context.Context) error { return nil }
	if serve && addr != "" && addr != "off" {
		ms, err := observe.ServeMetrics(addr, reg)
		if err != nil {
			return "", nil, err
		}
		bound, stop = ms.Addr().String(), ms.Close
	}
	if envFile != "" {
		var b strings.Builder
		for i := 0; i+1 < len(env); i += 2 {
			fmt.Fprintf(&b, "export %s=%s\n", env[i], env[i+1])
		}
		fmt.Fprintf(&b, "export %s=%s\n", metricsVar, bound)
		if err := os.WriteFile(envFile, []byte(b.String()), 0o644); err != nil {
			stop(context.Background()) //nolint:errcheck
			return "", nil, fmt.Errorf("%s: env file: %w", name, err)
		}
	}
	return bound, stop, nil
}
