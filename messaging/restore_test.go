package messaging_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// TestRestoreIntoFreshClusterReachesKafka: disaster recovery with pg_dump and
// pg_restore into a new PostgreSQL cluster. The restored events keep their
// transaction ids, which exceed the new cluster's counter: new events would
// sort below every checkpoint and the relay would publish nothing. The store
// must refuse to start on such a database with a clear error, and after the
// documented procedure (pg_resetwal -e) new appends must reach Kafka. Issue 14.
func TestRestoreIntoFreshClusterReachesKafka(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n := s.appendOrders(t, ctx, 0, 5, 1, 1)
	stop := runInBackground(t, "source relay", mustRelay(t, s.relayConfig("dr")).Run)
	readTopic(t, s.brokers, s.topic("order"), n, time.Minute)
	stop() // the checkpoint is at the head

	c := testenv.NewPGCluster(t)
	dump := filepath.Join(t.TempDir(), "strata.dump")
	runTool(t, filepath.Join(c.Bin, "pg_dump"), "-Fc", "-f", dump, "-d", s.dbURL)
	c.Run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "strata", "strata_dr")
	runTool(t, filepath.Join(c.Bin, "pg_restore"), "--no-owner", "--exit-on-error", "-d", c.URL("strata_dr"), dump)

	open := func() (*pgxpool.Pool, *eventstore.Store, error) {
		pool, err := pgxpool.New(ctx, c.URL("strata_dr"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if _, err := eventstore.Migrate(ctx, pool); err != nil {
			return pool, nil, err
		}
		store, err := eventstore.New(pool, eventstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return pool, store, nil
	}
	// relayRestored appends one more event per stream on the restored store
	// and relays with the restored checkpoint; it reports how many distinct
	// events the topic then holds.
	relayRestored := func(pool *pgxpool.Pool, store *eventstore.Store, v int) int {
		r := &stack{dbURL: c.URL("strata_dr"), pool: pool, store: store, brokers: s.brokers, registry: s.registry, reg: s.reg, types: s.types, prefix: s.prefix}
		n += r.appendOrders(t, ctx, 0, 5, v, v)
		stop := runInBackground(t, "restored relay", mustRelay(t, r.relayConfig("dr")).Run)
		defer stop()
		ids := map[string]bool{}
		for _, m := range readTopic(t, s.brokers, s.topic("order"), n, 20*time.Second) {
			ids[messaging.Header(m.Headers, messaging.HeaderEventID)] = true
		}
		return len(ids)
	}

	pool, store, err := open()
	var ahead *eventstore.TxCounterBehindError
	if err == nil {
		got := relayRestored(pool, store, 2)
		t.Fatalf("restored into a fresh cluster: the store opened and the relay published %d of %d events (want a refusal or all of them)", got, n)
	}
	if !errors.Is(err, eventstore.ErrTxCounterBehind) || !errors.As(err, &ahead) {
		t.Fatalf("migrate on the restored database: %v, want ErrTxCounterBehind", err)
	}
	t.Logf("refused as expected: %v", err)

	// The procedure of docs/operations.md: stop the new cluster, move its
	// transaction id epoch past the restored ids, start it.
	pool.Close()
	c.Stop()
	c.Run("pg_resetwal", "-e", strconv.FormatUint(ahead.Epoch(), 10), c.Data)
	c.Restart(t)
	pool, store, err = open()
	if err != nil {
		t.Fatalf("after pg_resetwal -e %d: %v", ahead.Epoch(), err)
	}
	if got := relayRestored(pool, store, 2); got != n {
		t.Fatalf("after the restore procedure %d of %d events reached Kafka", got, n)
	}
}

func mustRelay(t testing.TB, cfg messaging.RelayConfig) *messaging.Relay {
	t.Helper()
	r, err := messaging.NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runTool(t testing.TB, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(prog), err, out)
	}
}
