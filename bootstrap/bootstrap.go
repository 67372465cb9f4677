package bootstrap

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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

// WriteEnvFile writes, when envFile is set, the export lines of env (pairs
// of variable name and value) and of metricsVar set to metricsAddr. ci/run.sh
// takes the file's appearance for the service being ready, so a consumer
// service writes it only once its consumers have their partitions (see
// RunConsumer). Errors start with "name: env file: ".
func WriteEnvFile(name, envFile, metricsVar, metricsAddr string, env ...string) error {
	if envFile == "" {
		return nil
	}
	var b strings.Builder
	for i := 0; i+1 < len(env); i += 2 {
		fmt.Fprintf(&b, "export %s=%s\n", env[i], env[i+1])
	}
	fmt.Fprintf(&b, "export %s=%s\n", metricsVar, metricsAddr)
	if err := os.WriteFile(envFile, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("%s: env file: %w", name, err)
	}
	return nil
}

// RunConsumer runs c until ctx ends and returns what its Run returns. Once
// c has joined its group and holds its first assignment, it calls ready
// (write the env file, report SERVING); an error from ready stops c and is
// returned.
func RunConsumer(ctx context.Context, c *messaging.Consumer, ready func() error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
		if err := ready(); err != nil {
			cancel()
			<-done
			return err
		}
	case err := <-done:
		return err
	}
	return <-done
}

// ServeUntilDone is the main loop of a service with a server and a
// consumer started by the caller: it calls ready once c holds its first
// assignment, then waits until ctx ends (nil), the server fails (the error
// from serveErr) or the consumer stops (its Run's result from consumerDone,
// which is put back for AwaitConsumer). A nil c is ready at once.
func ServeUntilDone(ctx context.Context, c *messaging.Consumer, serveErr <-chan error, consumerDone chan error, ready func() error) error {
	var readyc <-chan struct{} = closed
	if c != nil {
		readyc = c.Ready()
	}
	for {
		select {
		case <-readyc:
			readyc = nil
			if err := ready(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		case err := <-serveErr:
			return err
		case err := <-consumerDone:
			consumerDone <- err // buffered: for AwaitConsumer
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("Run returned")
			}
			return fmt.Errorf("consumer stopped: %w", err)
		}
	}
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// consumerStopWait bounds AwaitConsumer (ci/run.sh stop sends SIGKILL 20 s
// after SIGTERM).
const consumerStopWait = 18 * time.Second

// AwaitConsumer waits until the consumer's Run has returned (its handlers
// finished, its offsets committed and the group left, so that the next
// instance is assigned at once instead of after session.timeout.ms), at most
// consumerStopWait.
func AwaitConsumer(log *slog.Logger, name string, done <-chan error) {
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(consumerStopWait):
		log.Warn(name+": consumer did not stop in time; exiting before it left its group", "waited", consumerStopWait)
	}
}

// ServeMetrics serves reg at /metrics on addr, unless serve is false (the
// caller gave the service its registry) or addr is "" or "off". Then it
// writes the env file (WriteEnvFile) with metricsVar set to the bound address;
// consumer services pass envFile "" and write it once they are ready. It returns the
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
	if err := WriteEnvFile(name, envFile, metricsVar, bound, env...); err != nil {
		stop(context.Background()) //nolint:errcheck
		return "", nil, err
	}
	return bound, stop, nil
}
