package messaging_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// TestConsumerHalfOpenDatabaseIsBounded: the consumer's connections to
// PostgreSQL go half-open (the network freezes, no RST, no FIN) while a
// handler's transaction is open, just before its COMMIT. The worker must
// not hang: the attempt runs out of DBTimeout, counts as an infrastructure
// failure and is retried on a fresh connection, so the read model catches
// up. Issue 14.
func TestConsumerHalfOpenDatabaseIsBounded(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.relayed(t, ctx, "ho", 1)
	u, err := url.Parse(s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	pcfg, err := pgxpool.ParseConfig(proxy.url(t, s.dbURL))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 3
	viaProxy, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)

	var froze atomic.Bool
	router := viewRouterAfter(s.types, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope) error {
		if msg.Key == "order-2" && msg.StreamVersion == 2 && froze.CompareAndSwap(false, true) {
			proxy.freezeOpen() // this transaction's connection and the pool's idle ones
		}
		return nil
	})
	cfg := s.consumerConfig(testenv.UniqueName("g"), router, s.topic("order"))
	cfg.DB = viaProxy
	cfg.DBTimeout = 2 * time.Second
	cfg.ShutdownTimeout = time.Second
	cfg.MaxAttempts = 1 // a stuck database must never dead-letter a good message
	logs := &warnLog{}
	cfg.Logger = slog.New(logs)
	m := messaging.NewMetrics()
	cfg.Metrics = m
	startConsumer(t, cfg)

	s.appendOrders(t, ctx, 0, 5, 1, 2)
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) && !froze.Load() {
		time.Sleep(100 * time.Millisecond)
	}
	if !froze.Load() {
		t.Fatal("the handler of order-2 v2 never ran")
	}
	frozeAt := time.Now()
	// Bounded: with DBTimeout 2s the stuck attempt fails within seconds and
	// the next one runs on a fresh connection.
	waitFor(t, 20*time.Second, "every order at version 2 after the freeze", func() (bool, string) {
		got := loadView(t, ctx, s.pool)
		done := 0
		for _, r := range got {
			if r.Version == 2 {
				done++
			}
		}
		return done == 5, fmt.Sprintf("%d of 5 orders at version 2 %v after the freeze; infra-failure series %d, Warn infra logs %d",
			done, time.Since(frozeAt).Round(time.Second), seriesCount(m.InfraFailures), logs.count("consumer infrastructure failure"))
	})
	s.waitView(t, ctx, 30*time.Second, 5, 2)
	if n := seriesCount(m.InfraFailures); n < 1 {
		t.Errorf("no infrastructure failure counted, want the timed-out attempt")
	}
	if n := seriesCount(m.DLQ); n != 0 {
		t.Errorf("%d dead-letter series after a frozen connection, want none", n)
	}
}
