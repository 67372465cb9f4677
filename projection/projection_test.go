package projection_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

// counter counts events per stream and sums placed totals: an aggregate
// whose double application would show.
type counter struct{}

func (counter) Name() string     { return "counter" }
func (counter) Tables() []string { return []string{"counter"} }
func (counter) EventTypes() []string {
	return []string{"shop.order.OrderPlaced", "shop.order.OrderCancelled"}
}
func (counter) Create(ctx context.Context, tx pgx.Tx, t projection.Tables) error {
	_, err := tx.Exec(ctx, `CREATE TABLE `+t.Get("counter")+` (stream_id text PRIMARY KEY, events int NOT NULL, total bigint NOT NULL)`)
	return err
}
func (counter) Apply(ctx context.Context, tx pgx.Tx, t projection.Tables, ev projection.Event) error {
	var amount int64
	switch e := ev.Data.(type) {
	case *order.OrderPlaced:
		amount = e.TotalAmount
	case *order.OrderCancelled:
	default:
		return fmt.Errorf("counter: unknown event %T", ev.Data)
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+t.Get("counter")+` VALUES ($1, 1, $2)
		ON CONFLICT (stream_id) DO UPDATE SET events = `+t.Get("counter")+`.events + 1, total = `+t.Get("counter")+`.total + $2`, ev.StreamID, amount)
	return err
}

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func apply(t *testing.T, pool *pgxpool.Pool, r *projection.Runner, ev projection.Event) error {
	t.Helper()
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return r.Apply(context.Background(), tx, ev) })
}

func row(t *testing.T, pool *pgxpool.Pool, stream string) (n int, total int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT events, total FROM read.counter WHERE stream_id = $1`, stream).Scan(&n, &total)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return n, total
}

func TestApplyIsExactlyOnceAndRejectsGaps(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	r := projection.NewRunner(pool, counter{})
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Setup(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	placed := projection.Event{Type: "shop.order.OrderPlaced", StreamID: "s1", Version: 1, Position: 10, Data: &order.OrderPlaced{TotalAmount: 500}}
	cancelled := projection.Event{Type: "shop.order.OrderCancelled", StreamID: "s1", Version: 2, Position: 11, Data: &order.OrderCancelled{}}
	for range 3 { // redelivered three times
		if err := apply(t, pool, r, placed); err != nil {
			t.Fatal(err)
		}
	}
	if n, total := row(t, pool, "s1"); n != 1 || total != 500 {
		t.Fatalf("after redelivery: %d events, total %d", n, total)
	}
	// Version 2 of s1 in the store is of a consumed type: skipping it is a gap.
	sh := &shop{pool: pool, types: mustTypes(t)}
	var err error
	if sh.store, err = eventstore.New(pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	for v, ev := range []any{placedEv(500), cancelledEv()} {
		if _, err := sh.append(ctx, "s1", int64(v), ev); err != nil {
			t.Fatal(err)
		}
	}
	gap := projection.Event{Type: "shop.order.OrderCancelled", StreamID: "s1", Version: 3, Position: 12, Data: &order.OrderCancelled{}}
	err = apply(t, pool, r, gap)
	var ge *projection.GapError
	if !errors.As(err, &ge) || !errors.Is(err, projection.ErrGap) || ge.Have != 1 || ge.Got != 3 {
		t.Fatalf("gap: %v", err)
	}
	if err := apply(t, pool, r, cancelled); err != nil {
		t.Fatal(err)
	}
	if n, _ := row(t, pool, "s1"); n != 2 {
		t.Fatalf("events = %d", n)
	}
	// A type the projection does not consume is ignored; an undecodable one fails and is counted.
	if err := apply(t, pool, r, projection.Event{Type: "shop.order.OrderShipped", StreamID: "s1", Version: 3}); err != nil {
		t.Fatal(err)
	}
	bad := projection.Event{Type: "shop.order.OrderPlaced", StreamID: "s2", Version: 1, Data: "not an event"}
	if err := apply(t, pool, r, bad); err == nil {
		t.Fatal("a wrongly typed event was applied")
	} else {
		r.RecordFailure(ctx, bad, err)
	}
	ok, err := r.Reached(ctx, "counter", projection.Token{StreamID: "s1", Version: 2})
	if err != nil || !ok {
		t.Fatalf("reached v2: %v %v", ok, err)
	}
	if err := r.WaitFor(ctx, "counter", projection.Token{StreamID: "s1", Version: 3}, 100*time.Millisecond); !errors.Is(err, projection.ErrNotReached) {
		t.Fatalf("wait for v3: %v", err)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st[0]; s.Applied != 2 || s.Streams != 1 || s.Failures != 1 || s.Position != 11 || s.LastError == "" {
		t.Fatalf("status %+v", s)
	}
}

func TestRebuildSwapsAtomically(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	up, err := upcasters.New(types, upcast.Chains()...)
	if err != nil {
		t.Fatal(err)
	}
	appendEv := func(stream string, expected eventstore.Expected, v any) {
		typ, body, err := types.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		_, err = store.Append(ctx, stream, "order", expected, eventstore.EventData{
			ID: uuid.New(), Type: typ.Name, Payload: body,
			Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	placed := func(total int64) *order.OrderPlaced {
		return &order.OrderPlaced{OrderID: "x", CustomerID: "c", Items: []order.OrderItem{{ProductID: "p", Quantity: 1, UnitPrice: total}},
			TotalAmount: total, Currency: "KRW", ShippingMethod: "STANDARD", PlacedAt: time.Unix(1e9, 0).UTC()}
	}
	for i := range 30 {
		appendEv(fmt.Sprint("s", i), eventstore.NoStream, placed(int64(i+1)))
		if i%3 == 0 {
			appendEv(fmt.Sprint("s", i), eventstore.Exact(1), &order.OrderCancelled{OrderID: "x", Reason: "r", CancelledAt: time.Unix(1e9, 0).UTC()})
		}
	}
	r := projection.NewRunner(pool, counter{})
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	// The live table holds a wrong row (as after a bug); the rebuild replaces it.
	if _, err := pool.Exec(ctx, `INSERT INTO read.counter VALUES ('s0', 99, 99)`); err != nil {
		t.Fatal(err)
	}
	var reports []projection.Progress
	prog, err := r.Rebuild(ctx, store, up, "counter", projection.RebuildOptions{BatchSize: 7, Progress: func(p projection.Progress) { reports = append(reports, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if prog.Total != 40 || prog.Done != 40 || prog.Applied != 40 || len(reports) < 6 || reports[len(reports)-1].Phase != "swapped" {
		t.Fatalf("progress %+v, %d reports", prog, len(reports))
	}
	if n, total := row(t, pool, "s0"); n != 2 || total != 1 {
		t.Fatalf("s0 after rebuild: %d events, total %d", n, total)
	}
	var rows, sum int64
	if err := pool.QueryRow(ctx, `SELECT count(*), sum(total) FROM read.counter`).Scan(&rows, &sum); err != nil || rows != 30 || sum != 465 {
		t.Fatalf("rebuilt table: %d rows, sum %d, %v", rows, sum, err)
	}
	var leftovers int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'read' AND (tablename LIKE '%shadow' OR tablename LIKE '%old')`).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Fatalf("%d shadow/old tables left, %v", leftovers, err)
	}
	// Events delivered live after the rebuild are recognised as applied.
	if err := apply(t, pool, r, projection.Event{Type: "shop.order.OrderPlaced", StreamID: "s5", Version: 1, Data: placed(6)}); err != nil {
		t.Fatal(err)
	}
	if n, _ := row(t, pool, "s5"); n != 1 {
		t.Fatalf("s5 applied twice: %d", n)
	}
	// A second rebuild works too (index and constraint names do not collide).
	if _, err := r.Rebuild(ctx, store, up, "counter", projection.RebuildOptions{}); err != nil {
		t.Fatalf("second rebuild: %v", err)
	}
	if _, err := r.Rebuild(ctx, store, up, "nope", projection.RebuildOptions{}); !errors.Is(err, projection.ErrUnknownProjection) {
		t.Fatalf("unknown projection: %v", err)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	tok := projection.Token{StreamID: "order-1", Version: 3, Cursor: "77:12"}
	got, err := projection.ParseToken(tok.String())
	if err != nil || got != tok {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "p1.", "p1.!!", "x.abc", projection.Token{StreamID: "s", Version: 0}.String()} {
		if _, err := projection.ParseToken(bad); !errors.Is(err, projection.ErrBadToken) {
			t.Fatalf("ParseToken(%q) = %v", bad, err)
		}
	}
}

func mustTypes(t *testing.T) *serde.Registry {
	t.Helper()
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	return types
}
