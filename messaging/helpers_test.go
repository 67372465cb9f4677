package messaging_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

// stack is one test's view of the real servers.
type stack struct {
	dbURL    string
	pool     *pgxpool.Pool
	store    *eventstore.Store
	brokers  string
	registry string
	reg      *srclient.SchemaRegistryClient
	types    *serde.Registry
	prefix   string // topic prefix unique to the test
}

func newStack(t testing.TB) *stack {
	t.Helper()
	s := &stack{
		dbURL:    testenv.NewDatabase(t),
		brokers:  testenv.KafkaBrokers(t),
		registry: testenv.SchemaRegistryURL(t),
		prefix:   testenv.UniqueName("mt") + ".",
	}
	s.reg = testenv.RegistryClient(t, s.registry)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.pool.Close)
	if _, err := eventstore.Migrate(ctx, s.pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if s.store, err = eventstore.New(s.pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	if s.types, err = serde.NewRegistry(events.Types()...); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) route(e *messaging.LogEvent) string { return s.prefix + "events." + e.StreamType }
func (s *stack) topic(streamType string) string     { return s.prefix + "events." + streamType }

func (s *stack) kafka() messaging.KafkaConfig {
	return messaging.KafkaConfig{"bootstrap.servers": s.brokers}
}

func quietLogger() *slog.Logger {
	if os.Getenv("STRATA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (s *stack) relayConfig(name string) messaging.RelayConfig {
	return messaging.RelayConfig{
		Name:     name,
		Log:      messaging.NewStoreLog(s.store),
		DB:       s.pool,
		Registry: s.reg,
		// tests register what they produce (deployments: strata schema register)
		RegisterSchemas: true,
		Kafka:           s.kafka(),
		Route:           s.route,
		Logger:          quietLogger(),
	}
}

// orderEvent returns the n-th event (1-based version) of order stream i:
// OrderPlaced first, then OrderShipped.
func orderEvent(i, n int) any {
	id := fmt.Sprintf("order-%d", i)
	if n == 1 {
		return &order.OrderPlaced{
			OrderID: id, CustomerID: fmt.Sprintf("c-%d", i),
			Items:       []order.OrderItem{{ProductID: "p-1", Quantity: 2, UnitPrice: int64(50 * i)}},
			TotalAmount: int64(100 * i), Currency: "KRW", ShippingMethod: order.ShippingMethodStandard,
			ShippingAddress: order.Address{Recipient: "r", Line1: "l", City: "Seoul", PostalCode: "0", CountryCode: "KR"},
			PlacedAt:        time.Unix(1700000000, 0).UTC(),
		}
	}
	return &order.OrderShipped{OrderID: id, Carrier: "post", TrackingNumber: fmt.Sprintf("T%d-%d", i, n),
		ShippedAt: time.Unix(1700000000+int64(n), 0).UTC()}
}

// appendOrders appends, for each stream in [from, to), events versions
// first..last, one append per event, interleaving streams.
func (s *stack) appendOrders(t testing.TB, ctx context.Context, from, to, first, last int) int {
	t.Helper()
	n := 0
	for v := first; v <= last; v++ {
		for i := from; i < to; i++ {
			if err := s.appendOne(ctx, i, v); err != nil {
				t.Fatalf("append order-%d v%d: %v", i, v, err)
			}
			n++
		}
	}
	return n
}

func (s *stack) appendOne(ctx context.Context, i, v int) error {
	ev := orderEvent(i, v)
	typ, body, err := s.types.Encode(ev)
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, fmt.Sprintf("order-%d", i), "order", eventstore.Exact(int64(v-1)), eventstore.EventData{
		ID: uuid.New(), Type: typ.Name, Payload: body,
		Schema:   eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON},
		Metadata: eventstore.Metadata{CorrelationID: "corr-" + fmt.Sprint(i), CausationID: "cause-" + fmt.Sprint(v), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	})
	return err
}

// readTopic reads every message of topic up to its high watermarks
// (waiting up to timeout for want distinct events).
func readTopic(t testing.TB, brokers, topic string, want int, timeout time.Duration) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": brokers, "group.id": testenv.UniqueName("rd"),
		"auto.offset.reset": "earliest", "enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var out []*kafka.Message
	// want counts distinct events (duplicates after a relay crash or a
	// fenced leader do not end the read early).
	distinct := map[string]bool{}
	deadline := time.Now().Add(timeout)
	for len(distinct) < want && time.Now().Before(deadline) {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue
		}
		out = append(out, m)
		id := messaging.Header(m.Headers, messaging.HeaderEventID)
		if id == "" {
			id = fmt.Sprint(len(out))
		}
		distinct[id] = true
	}
	// Drain a little longer to catch unexpected extras.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		if m, err := c.ReadMessage(100 * time.Millisecond); err == nil {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].TopicPartition.Partition != out[j].TopicPartition.Partition {
			return out[i].TopicPartition.Partition < out[j].TopicPartition.Partition
		}
		return out[i].TopicPartition.Offset < out[j].TopicPartition.Offset
	})
	return out
}

// runInBackground runs f until the test's cleanup (or stop) and reports its error.
func runInBackground(t testing.TB, name string, f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not stop in 60s", name)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (%s)", timeout, what, last)
}

// orderView is the read model the tests build: per order, its total, the
// number of shipments, the last tracking number and the last stream version
// applied (a handler rejects any version that is not the next one, so a
// per-key reordering shows up as a failure).
type orderView struct {
	Total     int64
	Shipments int
	Tracking  string
	Version   int64
}

const viewDDL = `CREATE TABLE IF NOT EXISTS order_view (
	order_id text PRIMARY KEY, total bigint NOT NULL, shipments int NOT NULL,
	tracking text NOT NULL, version bigint NOT NULL)`

func viewRouter(t testing.TB, types *serde.Registry) *messaging.Router {
	return viewRouterAfter(types, nil)
}

// viewRouterAfter is viewRouter with after (when not nil) called inside each
// OrderShipped handler once its write is done, before the commit.
func viewRouterAfter(types *serde.Registry, after func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope) error) *messaging.Router {
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope, ev *order.OrderPlaced) error {
		if msg.StreamVersion != 1 {
			return messaging.Permanent(fmt.Errorf("OrderPlaced at version %d", msg.StreamVersion))
		}
		_, err := tx.Exec(ctx, `INSERT INTO order_view VALUES ($1, $2, 0, '', 1)`, ev.OrderID, ev.TotalAmount)
		return err
	})
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope, ev *order.OrderShipped) error {
		tag, err := tx.Exec(ctx, `UPDATE order_view SET shipments = shipments + 1, tracking = $2, version = $3
WHERE order_id = $1 AND version = $3 - 1`, ev.OrderID, ev.TrackingNumber, msg.StreamVersion)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("order %s: version %d is not next", ev.OrderID, msg.StreamVersion)
		}
		if after != nil {
			return after(ctx, tx, msg)
		}
		return nil
	})
	return r
}

func loadView(t testing.TB, ctx context.Context, pool *pgxpool.Pool) map[string]orderView {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT order_id, total, shipments, tracking, version FROM order_view`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]orderView{}
	for rows.Next() {
		var id string
		var v orderView
		if err := rows.Scan(&id, &v.Total, &v.Shipments, &v.Tracking, &v.Version); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// viewComplete reports whether v holds n orders, each at version last: a
// rebuild (ReadAll is commit-safe) has caught up with every append.
func viewComplete(v map[string]orderView, n int, last int64) bool {
	if len(v) != n {
		return false
	}
	for _, o := range v {
		if o.Version != last {
			return false
		}
	}
	return true
}

// rebuildView folds the whole event store into the read model in memory.
func (s *stack) rebuildView(t testing.TB, ctx context.Context) map[string]orderView {
	t.Helper()
	out := map[string]orderView{}
	cur := eventstore.Start
	for {
		evs, err := s.store.ReadAll(ctx, cur, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			v, err := s.types.Decode(e.Type, e.Payload)
			if err != nil {
				t.Fatal(err)
			}
			switch ev := v.(type) {
			case *order.OrderPlaced:
				out[ev.OrderID] = orderView{Total: ev.TotalAmount, Version: 1}
			case *order.OrderShipped:
				ov := out[ev.OrderID]
				ov.Shipments++
				ov.Tracking = ev.TrackingNumber
				ov.Version = e.Version
				out[ev.OrderID] = ov
			default:
				t.Fatalf("unexpected event %s", e.Type)
			}
		}
		cur = evs[len(evs)-1].Cursor()
	}
}

// counterValue reads a counter or gauge.
func counterValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return 0
}

// seriesCount counts the series a collector has.
func seriesCount(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 1000)
	c.Collect(ch)
	close(ch)
	return len(ch)
}
