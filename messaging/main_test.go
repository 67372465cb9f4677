package messaging_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry/client"
)

// TestMain doubles as the relay subprocess of the fault tests: with
// STRATA_RELAY_CHILD set, the test binary runs one relay until SIGTERM (or
// until it is SIGKILLed, which is the point).
func TestMain(m *testing.M) {
	if os.Getenv("STRATA_RELAY_CHILD") != "" {
		os.Exit(relayChild())
	}
	os.Exit(m.Run())
}

func relayChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	pool, err := pgxpool.New(ctx, os.Getenv("STRATA_RELAY_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer pool.Close()
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	prefix := os.Getenv("STRATA_RELAY_PREFIX")
	log := messaging.NewStoreLog(store)
	defer log.Close(context.Background())
	reg, err := client.ForURL(os.Getenv("STRATA_RELAY_REGISTRY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := messaging.NewRelay(messaging.RelayConfig{
		Name: "fault", Log: log, DB: pool,
		Registry:        reg,
		RegisterSchemas: true,
		Kafka:           messaging.KafkaConfig{"bootstrap.servers": os.Getenv("STRATA_RELAY_BROKERS")},
		Route:           func(e *messaging.LogEvent) string { return prefix + messaging.DefaultRoute(e) },
		BatchSize:       200,
		MaxInFlight:     1000,
		LeaseRetry:      200 * time.Millisecond,
		LeaseTimeout:    time.Second,            // a successor waits this out after each kill; keep the kill phase as short as before
		CheckpointEvery: 500 * time.Millisecond, // a wide window for kills to land in
		Logger:          quietLogger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
