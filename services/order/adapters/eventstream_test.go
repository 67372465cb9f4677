package adapters_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

func newStream(t *testing.T) (*adapters.OrderStream, *eventstore.Store) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	return adapters.NewOrderStream(store, reg, adapters.NewStoreDecoder(store, reg, nil)), store
}

func TestOrderStreamRoundTrip(t *testing.T) {
	s, store := newStream(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)
	if _, err := s.Load(ctx, "o-1"); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("load missing: %v", err)
	}
	o := order.New("o-1")
	evs, err := o.Place(order.PlaceOrder{
		CustomerID: "c", Items: []order.Item{{ProductID: "p", Quantity: 2, UnitPrice: 10}},
		Address: order.Address{Line1: "x", City: "y", CountryCode: "KR", Line2: "2F"},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	meta := command.Meta{CommandID: "cmd-1", CorrelationID: "corr", UserID: "u", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	p1, err := s.Append(ctx, "o-1", 0, meta, evs)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Version != 1 || p1.Cursor == "" {
		t.Fatalf("position %+v", p1)
	}
	// The same command appended again (a retry racing the first): no new event.
	p2, err := s.Append(ctx, "o-1", 0, meta, evs)
	if err != nil || p2 != p1 {
		t.Fatalf("replayed append: %+v %v, want %+v", p2, err, p1)
	}
	// A different command at a stale version conflicts.
	if _, err := s.Append(ctx, "o-1", 0, command.Meta{CommandID: "other"}, evs); !errors.Is(err, command.ErrConflict) {
		t.Fatalf("stale append: %v", err)
	}
	l, err := s.Load(ctx, "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if l.Order.Status() != order.Placed || l.Order.Total() != 20 || l.Order.Address().Line2 != "2F" || l.Handled["cmd-1"] != p1 || l.Last != p1 {
		t.Fatalf("loaded %s total %d handled %v last %+v", l.Order.Status(), l.Order.Total(), l.Handled, l.Last)
	}
	recs, err := store.ReadStream(ctx, adapters.StreamID("o-1"), 1, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read: %v %d", err, len(recs))
	}
	r := recs[0]
	if r.Type != "shop.order.OrderPlaced" || r.CausationID != "cmd-1" || r.CorrelationID != "corr" || r.UserID != "u" || r.TraceParent != meta.TraceParent || r.StreamType != "order" {
		t.Fatalf("stored %+v", r.Metadata)
	}
	if r.ID != adapters.EventID("cmd-1", adapters.StreamID("o-1"), 0) {
		t.Fatal("event id not derived from the command id")
	}
}
