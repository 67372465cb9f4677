package command_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/services/inventory/app/command"
	"github.com/stratahq/strata/services/inventory/domain/reservation"
	"github.com/stratahq/strata/services/inventory/domain/stock"
)

// memStore keeps decided events per stream in memory, deduplicating by the
// (command id, part) key like the event store does by event id.
type memStore struct {
	streams map[string][]any
	seen    map[string]bool
	failOn  string // append to this stream fails once (a crash half-way)
}

func newMem() *memStore { return &memStore{streams: map[string][]any{}, seen: map[string]bool{}} }

func (m *memStore) append(stream string, meta command.Meta, evs []any) error {
	if len(evs) == 0 {
		return nil
	}
	if m.failOn == stream {
		m.failOn = ""
		return errors.New("connection reset")
	}
	key := meta.CommandID + "/" + meta.Part + "/" + stream
	if m.seen[key] {
		return nil
	}
	m.seen[key] = true
	m.streams[stream] = append(m.streams[stream], evs...)
	return nil
}

type stocks struct{ *memStore }

func (s stocks) load(id string) *stock.Stock {
	st := stock.New(id)
	for _, e := range s.streams["stock-"+id] {
		if err := st.Apply(e); err != nil {
			panic(err)
		}
	}
	return st
}

func (s stocks) Execute(_ context.Context, id string, meta command.Meta, decide func(*stock.Stock) ([]any, error)) error {
	evs, err := decide(s.load(id))
	if err != nil {
		return err
	}
	return s.append("stock-"+id, meta, evs)
}

type reservations struct{ *memStore }

func (r reservations) Load(_ context.Context, id string) (*reservation.Reservation, error) {
	res := reservation.New(id)
	for _, e := range r.streams["reservation-"+id] {
		if err := res.Apply(e); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (r reservations) Execute(ctx context.Context, id string, meta command.Meta, decide func(*reservation.Reservation) ([]any, error)) error {
	res, err := r.Load(ctx, id)
	if err != nil {
		return err
	}
	evs, err := decide(res)
	if err != nil {
		return err
	}
	return r.append("reservation-"+id, meta, evs)
}

type faults struct{ out []string }

func (f faults) OutOfStock(p string) bool { return slices.Contains(f.out, p) }
func (f faults) Delay() time.Duration     { return 0 }

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func setup(t *testing.T, onHand map[string]int, out ...string) (*command.Handlers, stocks, reservations) {
	t.Helper()
	m := newMem()
	s, r := stocks{m}, reservations{m}
	for p, q := range onHand {
		m.streams["stock-"+p] = []any{&events.StockReceived{ProductID: p, Quantity: q}}
	}
	return command.New(s, r, faults{out}, nil, func() time.Time { return now }, command.Config{}), s, r
}

func reserve(res string, items ...events.StockItem) *events.ReserveStock {
	return &events.ReserveStock{ReservationID: res, OrderID: "o-" + res, Items: items}
}

func item(p string, q int) events.StockItem { return events.StockItem{ProductID: p, Quantity: q} }

func last(evs []any) string {
	if len(evs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%T", evs[len(evs)-1])
}

func TestReserveAllOrNothing(t *testing.T) {
	ctx := context.Background()
	h, s, r := setup(t, map[string]int{"a": 5, "b": 1})
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, reserve("r1", item("a", 2), item("b", 2))); err != nil {
		t.Fatal(err)
	}
	if got := last(r.streams["reservation-r1"]); got != "*inventory.StockReservationFailed" {
		t.Fatalf("answer %s", got)
	}
	f := r.streams["reservation-r1"][0].(*events.StockReservationFailed)
	if !slices.Equal(f.UnavailableProductIds, []string{"b"}) {
		t.Errorf("unavailable %v", f.UnavailableProductIds)
	}
	if a, b := s.load("a"), s.load("b"); a.Reserved() != 0 || b.Reserved() != 0 || a.Available() != 5 {
		t.Fatalf("after a failed reservation: a reserved %d, b reserved %d", a.Reserved(), b.Reserved())
	}
	// A redelivered command changes nothing.
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, reserve("r1", item("a", 2), item("b", 2))); err != nil {
		t.Fatal(err)
	}
	if len(r.streams["reservation-r1"]) != 1 {
		t.Fatalf("reservation stream %v", r.streams["reservation-r1"])
	}
}

func TestReserveReleaseAndDuplicates(t *testing.T) {
	ctx := context.Background()
	h, s, r := setup(t, map[string]int{"a": 5, "b": 5})
	cmd := reserve("r1", item("b", 1), item("a", 2), item("a", 1)) // merged: a 3, b 1
	for range 2 {
		if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, cmd); err != nil {
			t.Fatal(err)
		}
	}
	if s.load("a").HeldBy("r1") != 3 || s.load("b").HeldBy("r1") != 1 || len(r.streams["reservation-r1"]) != 1 {
		t.Fatalf("held a %d b %d, answers %d", s.load("a").HeldBy("r1"), s.load("b").HeldBy("r1"), len(r.streams["reservation-r1"]))
	}
	rel := &events.ReleaseStock{ReservationID: "r1", OrderID: "o-r1"}
	for _, id := range []string{"c2", "c3"} { // a retried compensation has a new command id
		if err := h.ReleaseStock(ctx, command.Meta{CommandID: id}, rel); err != nil {
			t.Fatal(err)
		}
	}
	if s.load("a").Reserved() != 0 || s.load("b").Reserved() != 0 || last(r.streams["reservation-r1"]) != "*inventory.StockReleased" || len(r.streams["reservation-r1"]) != 2 {
		t.Fatalf("after release: a %d b %d, reservation %v", s.load("a").Reserved(), s.load("b").Reserved(), r.streams["reservation-r1"])
	}
}

// A release that overtakes its reservation voids it: the late ReserveStock
// holds nothing.
func TestReleaseBeforeReserve(t *testing.T) {
	ctx := context.Background()
	h, s, r := setup(t, map[string]int{"a": 5})
	if err := h.ReleaseStock(ctx, command.Meta{CommandID: "c2"}, &events.ReleaseStock{ReservationID: "r1", OrderID: "o-r1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, reserve("r1", item("a", 1))); err != nil {
		t.Fatal(err)
	}
	if s.load("a").Reserved() != 0 || len(r.streams["reservation-r1"]) != 1 {
		t.Fatalf("a reserved %d; reservation %v", s.load("a").Reserved(), r.streams["reservation-r1"])
	}
}

// A crash after some products were reserved: the redelivered command
// finishes the job without holding anything twice.
func TestReserveResumesAfterCrash(t *testing.T) {
	ctx := context.Background()
	h, s, r := setup(t, map[string]int{"a": 5, "b": 5})
	s.failOn = "stock-b"
	cmd := reserve("r1", item("a", 2), item("b", 2))
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, cmd); err == nil {
		t.Fatal("want the injected failure")
	}
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, cmd); err != nil {
		t.Fatal(err)
	}
	if s.load("a").HeldBy("r1") != 2 || s.load("b").HeldBy("r1") != 2 || last(r.streams["reservation-r1"]) != "*inventory.StockReserved" {
		t.Fatalf("a %d b %d answer %s", s.load("a").HeldBy("r1"), s.load("b").HeldBy("r1"), last(r.streams["reservation-r1"]))
	}
}

func TestOutOfStockInjection(t *testing.T) {
	ctx := context.Background()
	h, s, r := setup(t, map[string]int{"a": 5, "z": 5}, "z")
	if err := h.ReserveStock(ctx, command.Meta{CommandID: "c1"}, reserve("r1", item("a", 1), item("z", 1))); err != nil {
		t.Fatal(err)
	}
	if last(r.streams["reservation-r1"]) != "*inventory.StockReservationFailed" || s.load("a").Reserved() != 0 {
		t.Fatalf("answer %s, a reserved %d", last(r.streams["reservation-r1"]), s.load("a").Reserved())
	}
}
