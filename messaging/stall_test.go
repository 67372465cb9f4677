package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/projection"
)

// warnLog records the messages of Warn-or-above records (and discards the rest).
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnLog) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnLog) WithGroup(string) slog.Handler      { return w }
func (w *warnLog) count(msg string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// relayed creates the test's order topic with the partitions, the read
// model table and runs a relay into the topic until the test ends.
func (s *stack) relayed(t *testing.T, ctx context.Context, name string, partitions int) {
	t.Helper()
	if _, err := s.pool.Exec(ctx, viewDDL); err != nil {
		t.Fatal(err)
	}
	createTopic(t, s.brokers, s.topic("order"), partitions)
	relay, err := messaging.NewRelay(s.relayConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "relay", relay.Run)
}

// startConsumer runs a consumer with cfg until the test ends.
func startConsumer(t *testing.T, cfg messaging.ConsumerConfig) *messaging.Consumer {
	t.Helper()
	c, err := messaging.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "consumer", c.Run)
	return c
}

// waitView waits until the read model equals the rebuild of the store with n
// orders at version last.
func (s *stack) waitView(t *testing.T, ctx context.Context, timeout time.Duration, n int, last int64) {
	t.Helper()
	waitFor(t, timeout, "read model equals the rebuild", func() (bool, string) {
		want := s.rebuildView(t, ctx)
		got := loadView(t, ctx, s.pool)
		return viewComplete(want, n, last) && reflect.DeepEqual(got, want), fmt.Sprintf("%d of %d orders", len(got), len(want))
	})
}

// TestConsumerHandlerOutlivingRevoke: a handler that outlives
// ShutdownTimeout during a revoke has its own context cancelled, not the
// whole run's: the instance goes on processing what it is assigned later.
func TestConsumerHandlerOutlivingRevoke(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.relayed(t, ctx, "rv", 2)

	group := testenv.UniqueName("g")
	blocked := make(chan struct{})
	var once atomic.Bool
	cfg1 := s.consumerConfig(group, viewRouter(t, s.types), s.topic("order"))
	cfg1.ShutdownTimeout = 300 * time.Millisecond
	cfg1.OnHandle = func(ctx context.Context, env messaging.Envelope) (context.Context, func(error)) {
		if once.CompareAndSwap(false, true) { // the first attempt hangs until its context ends
			close(blocked)
			<-ctx.Done()
		}
		return ctx, func(error) {}
	}
	c1, err := messaging.NewConsumer(cfg1)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "consumer 1", c1.Run)
	s.appendOrders(t, ctx, 0, 10, 1, 1)
	select {
	case <-blocked:
	case <-time.After(60 * time.Second):
		t.Fatal("no handler attempt in 60s")
	}
	// A second member joins: consumer 1's partitions are revoked while the
	// handler hangs, and the revoke cancels it after ShutdownTimeout.
	c2, err := messaging.NewConsumer(s.consumerConfig(group, viewRouter(t, s.types), s.topic("order")))
	if err != nil {
		t.Fatal(err)
	}
	stop2 := runInBackground(t, "consumer 2", c2.Run)
	time.Sleep(5 * time.Second)
	stop2() // everything back to consumer 1
	s.appendOrders(t, ctx, 0, 10, 2, 3)
	s.waitView(t, ctx, 90*time.Second, 10, 3)
}

// TestConsumerCommitFailureIsInfrastructure: a COMMIT that fails because
// the connection died is an infrastructure failure, retried without counting
// against MaxAttempts: the good message is applied, never dead-lettered.
func TestConsumerCommitFailureIsInfrastructure(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.relayed(t, ctx, "cf", 1)
	var killed atomic.Int32
	router := viewRouterAfter(s.types, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope) error {
		if msg.Key == "order-3" && killed.CompareAndSwap(0, 1) {
			// The database drops the connection between the handler's write and COMMIT.
			pid := tx.Conn().PgConn().PID()
			if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
				return err
			}
		}
		return nil
	})
	cfg := s.consumerConfig(testenv.UniqueName("g"), router, s.topic("order"))
	cfg.MaxAttempts = 1
	m := messaging.NewMetrics()
	cfg.Metrics = m
	startConsumer(t, cfg)
	s.appendOrders(t, ctx, 0, 6, 1, 3)
	s.waitView(t, ctx, 90*time.Second, 6, 3)
	if killed.Load() != 1 {
		t.Fatal("the connection was never terminated")
	}
	if n := seriesCount(m.DLQ); n != 0 {
		t.Errorf("%d dead-letter series after a failed COMMIT, want none", n)
	}
}

// flakyRegistry fails GetSchema (as a network error would) until ok is set,
// counting the calls.
type flakyRegistry struct {
	messaging.Registry
	ok    atomic.Bool
	calls atomic.Int64
}

func (f *flakyRegistry) GetSchema(id int) (*srclient.Schema, error) {
	if !f.ok.Load() {
		f.calls.Add(1)
		return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	return f.Registry.GetSchema(id)
}

// TestConsumerInfrastructureFailuresBackOff: while the registry (or the
// database) fails, attempts back off exponentially and log at Warn; nothing
// is dead-lettered, and the message is applied once it recovers.
func TestConsumerInfrastructureFailuresBackOff(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.relayed(t, ctx, "ib", 1)
	reg := &flakyRegistry{Registry: s.reg}
	cfg := s.consumerConfig(testenv.UniqueName("g"), viewRouter(t, s.types), s.topic("order"))
	cfg.Registry = reg
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 2*time.Second
	cfg.MaxAttempts = 1
	logs := &warnLog{}
	cfg.Logger = slog.New(logs)
	m := messaging.NewMetrics()
	cfg.Metrics = m
	startConsumer(t, cfg)
	s.appendOrders(t, ctx, 0, 1, 1, 1)
	waitFor(t, 60*time.Second, "a first failed attempt", func() (bool, string) { return reg.calls.Load() > 0, "" })
	time.Sleep(5 * time.Second)
	calls := reg.calls.Load()
	// Without backoff: one attempt every 25-50ms, over 100 in 5s. With
	// exponential backoff from 50ms capped at 2s: about 8.
	if calls > 20 {
		t.Errorf("%d registry calls in 5s of failures: infrastructure failures do not back off", calls)
	}
	if logs.count("consumer infrastructure failure") == 0 {
		t.Errorf("no Warn log while every attempt fails (Warn+ logs: %v)", logs.msgs)
	}
	reg.ok.Store(true)
	s.waitView(t, ctx, 60*time.Second, 1, 1)
	if n := seriesCount(m.DLQ); n != 0 {
		t.Errorf("%d dead-letter series after registry failures, want none", n)
	}
}

// TestConsumerCreatesDeadLetterTopics: a consumer creates the dead-letter
// topics of its topics when it starts, not through the broker's auto-create
// on the first dead letter.
func TestConsumerCreatesDeadLetterTopics(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := s.topic("order")
	createTopic(t, s.brokers, topic, 1)
	cfg := s.consumerConfig(testenv.UniqueName("g"), viewRouter(t, s.types), topic)
	startConsumer(t, cfg)
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": s.brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	waitFor(t, 30*time.Second, "the dead-letter topic "+topic+messaging.DLQSuffix, func() (bool, string) {
		md, err := a.GetMetadata(nil, true, 5000)
		if err != nil {
			return false, err.Error()
		}
		_, ok := md.Topics[topic+messaging.DLQSuffix]
		return ok, "absent"
	})
	_ = ctx
}

// failing is a projection whose Apply always fails.
type failing struct{}

func (failing) Name() string         { return "failing" }
func (failing) Tables() []string     { return []string{"failing"} }
func (failing) EventTypes() []string { return []string{"shop.order.OrderPlaced"} }
func (failing) Create(ctx context.Context, tx pgx.Tx, t projection.Tables) error {
	_, err := tx.Exec(ctx, `CREATE TABLE `+t.Get("failing")+` (id text PRIMARY KEY)`)
	return err
}
func (failing) Apply(context.Context, pgx.Tx, projection.Tables, projection.Event) error {
	return errors.New("failing: always")
}

// TestProjectionFailuresDoNotExhaustThePool: with as many failing partitions
// as pool connections, recording each failure must not wait for a second
// connection while the failing transaction holds its own.
func TestProjectionFailuresDoNotExhaustThePool(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const conns = 2
	pc := s.pool.Config()
	pc.MaxConns = conns
	pool, err := pgxpoolWith(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() { // a pool whose connections are stuck would never close
			pool.Close()
		}
	})
	runner := projection.NewRunner(pool, failing{})
	if err := runner.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	s.relayed(t, ctx, "pf", 4)
	router := messaging.NewRouter(s.types)
	runner.Register(router)
	cfg := s.consumerConfig(testenv.UniqueName("g"), router, s.topic("order"))
	cfg.DB = pool
	cfg.MinBackoff, cfg.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	cfg.MaxAttempts = 1 << 20
	startConsumer(t, cfg)
	s.appendOrders(t, ctx, 0, 16, 1, 1)
	// Failures keep being counted: the consumer is not stuck on the pool.
	var last int64
	for i := 0; i < 3; i++ {
		waitFor(t, 30*time.Second, fmt.Sprintf("more than %d recorded failures", last+50), func() (bool, string) {
			var n int64
			if err := s.pool.QueryRow(ctx, `SELECT failures FROM read.projection_status WHERE name = 'failing'`).Scan(&n); err != nil {
				return false, err.Error()
			}
			return n > last+50, fmt.Sprintf("%d failures; pool %d of %d acquired", n, pool.Stat().AcquiredConns(), conns)
		})
		if err := s.pool.QueryRow(ctx, `SELECT failures FROM read.projection_status WHERE name = 'failing'`).Scan(&last); err != nil {
			t.Fatal(err)
		}
	}
}

func pgxpoolWith(ctx context.Context, pc *pgxpool.Config) (*pgxpool.Pool, error) {
	return pgxpool.NewWithConfig(ctx, pc)
}
