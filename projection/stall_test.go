package projection_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/upcasters"
)

// shop is a store with the shop's types, for tests that append real events.
type shop struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	types *serde.Registry
	up    *upcasters.Upcaster
}

func newShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{pool: newPool(t)}
	var err error
	if s.store, err = eventstore.New(s.pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	if s.types, err = serde.NewRegistry(events.Types()...); err != nil {
		t.Fatal(err)
	}
	if s.up, err = upcasters.New(s.types, upcast.Chains()...); err != nil {
		t.Fatal(err)
	}
	return s
}

// append appends v as version expected+1 of stream and returns it as a
// projection event.
func (s *shop) append(ctx context.Context, stream string, expected int64, v any) (projection.Event, error) {
	typ, body, err := s.types.Encode(v)
	if err != nil {
		return projection.Event{}, err
	}
	ex := eventstore.Exact(expected)
	if expected == 0 {
		ex = eventstore.NoStream
	}
	id := uuid.New()
	res, err := s.store.Append(ctx, stream, "order", ex, eventstore.EventData{
		ID: id, Type: typ.Name, Payload: body,
		Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON},
	})
	if err != nil {
		return projection.Event{}, err
	}
	_ = res
	return projection.Event{ID: id.String(), Type: typ.Name, StreamID: stream, StreamType: "order", Version: expected + 1, Data: v}, nil
}

func placedEv(total int64) *order.OrderPlaced {
	return &order.OrderPlaced{OrderID: "x", CustomerID: "c", Items: []order.OrderItem{{ProductID: "p", Quantity: 1, UnitPrice: total}},
		TotalAmount: total, Currency: "KRW", ShippingMethod: "STANDARD", PlacedAt: time.Unix(1e9, 0).UTC()}
}

func shippedEv() *order.OrderShipped {
	return &order.OrderShipped{OrderID: "x", Carrier: "post", TrackingNumber: "T", ShippedAt: time.Unix(1e9, 0).UTC()}
}

func cancelledEv() *order.OrderCancelled {
	return &order.OrderCancelled{OrderID: "x", Reason: "r", CancelledAt: time.Unix(1e9, 0).UTC()}
}

// TestGapCheckFollowsSubscribedTypes: counter consumes OrderPlaced and
// OrderCancelled, not OrderShipped. A version skipped because it is of a type
// the projection does not consume is no gap; a skipped version of a type it
// consumes is.
func TestGapCheckFollowsSubscribedTypes(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	r := projection.NewRunner(s.pool, counter{})
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	must := func(ev projection.Event, err error) projection.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// g1: Placed, Shipped (not consumed), Cancelled.
	p1 := must(s.append(ctx, "g1", 0, placedEv(10)))
	must(s.append(ctx, "g1", 1, shippedEv()))
	c1 := must(s.append(ctx, "g1", 2, cancelledEv()))
	if err := apply(t, s.pool, r, p1); err != nil {
		t.Fatal(err)
	}
	if err := apply(t, s.pool, r, c1); err != nil {
		t.Fatalf("version 3 after version 1, version 2 not consumed: %v", err)
	}
	if n, _ := row(t, s.pool, "g1"); n != 2 {
		t.Fatalf("g1: %d events applied, want 2", n)
	}
	// g2: a stream whose first consumed event is not its first event.
	must(s.append(ctx, "g2", 0, shippedEv()))
	p2 := must(s.append(ctx, "g2", 1, placedEv(20)))
	if err := apply(t, s.pool, r, p2); err != nil {
		t.Fatalf("first consumed event at version 2: %v", err)
	}
	// g3: Placed, Cancelled, Cancelled; version 2 is missing: a real gap.
	p3 := must(s.append(ctx, "g3", 0, placedEv(30)))
	must(s.append(ctx, "g3", 1, cancelledEv()))
	c3 := must(s.append(ctx, "g3", 2, cancelledEv()))
	if err := apply(t, s.pool, r, p3); err != nil {
		t.Fatal(err)
	}
	var ge *projection.GapError
	if err := apply(t, s.pool, r, c3); !errors.As(err, &ge) || ge.Have != 1 || ge.Got != 3 {
		t.Fatalf("consumed version 2 missing: %v, want a gap error", err)
	}
	// A rebuild of the same history gives the same rows.
	if _, err := r.Rebuild(ctx, s.store, s.up, "counter", projection.RebuildOptions{BatchSize: 2}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for stream, want := range map[string]int{"g1": 2, "g2": 1, "g3": 3} {
		if n, _ := row(t, s.pool, stream); n != want {
			t.Errorf("%s after rebuild: %d events, want %d", stream, n, want)
		}
	}
}

// TestRebuildUnderWriteLoad rebuilds while events are appended and applied
// live without pause: the swap must neither deadlock with live applies nor
// lose or double an event.
func TestRebuildUnderWriteLoad(t *testing.T) {
	s := newShop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := projection.NewRunner(s.pool, counter{})
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	const seed = 300
	var total atomic.Int64
	for i := range seed {
		ev, err := s.append(ctx, fmt.Sprint("s", i), 0, placedEv(int64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := apply(t, s.pool, r, ev); err != nil {
			t.Fatal(err)
		}
		total.Add(int64(i + 1))
	}
	// Four live writers: append a new order and apply it at once, as the
	// consumer would, until the rebuilds are done (bounded in count and time).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var appended atomic.Int64
	errc := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev, err := s.append(ctx, fmt.Sprintf("w%d-%d", w, i), 0, placedEv(1))
				if err != nil {
					errc <- err
					return
				}
				if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return r.Apply(ctx, tx, ev) }); err != nil {
					errc <- fmt.Errorf("live apply %s: %w", ev.StreamID, err)
					return
				}
				appended.Add(1)
			}
		}()
	}
	// The rebuild has a pool of its own, as `strata projection rebuild` has.
	rpool, err := pgxpool.NewWithConfig(ctx, s.pool.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer rpool.Close()
	rstore, err := eventstore.New(rpool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rr := projection.NewRunner(rpool, counter{})
	var rebuildErr error
	for range 3 {
		if _, rebuildErr = rr.Rebuild(ctx, rstore, s.up, "counter", projection.RebuildOptions{BatchSize: 50}); rebuildErr != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("writer: %v", err)
	}
	if rebuildErr != nil {
		t.Fatalf("rebuild under load: %v", rebuildErr)
	}
	if appended.Load() == 0 {
		t.Fatal("no live writes during the rebuilds")
	}
	var rows, sum int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*), sum(total) FROM read.counter`).Scan(&rows, &sum); err != nil {
		t.Fatal(err)
	}
	if want := seed + appended.Load(); rows != want || sum != total.Load()+appended.Load() {
		t.Fatalf("after rebuilds under load: %d rows, sum %d; want %d rows, sum %d", rows, sum, want, total.Load()+appended.Load())
	}
	t.Logf("%d live events applied during 3 rebuilds", appended.Load())
}
