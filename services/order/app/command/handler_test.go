package command_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stratahq/strata/services/order/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// memStream is an in-memory OrderStream that keeps events as values.
type memStream struct {
	mu       sync.Mutex
	streams  map[string][]stored
	conflict int // fail this many appends with ErrConflict first
	appends  int
}

type stored struct {
	ev    any
	cause string
}

func newMem() *memStream { return &memStream{streams: map[string][]stored{}} }

func (m *memStream) Load(_ context.Context, id string) (*command.Loaded, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := m.streams[id]
	if len(evs) == 0 {
		return nil, order.ErrNotFound
	}
	l := &command.Loaded{Order: order.New(id), Handled: map[string]command.Position{}}
	for i, s := range evs {
		if err := l.Order.Apply(s.ev); err != nil {
			return nil, err
		}
		p := command.Position{StreamID: id, Version: int64(i + 1)}
		l.Handled[s.cause] = p
		l.Last = p
	}
	return l, nil
}

func (m *memStream) Append(_ context.Context, id string, expected int64, meta command.Meta, evs []any) (command.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conflict > 0 {
		m.conflict--
		return command.Position{}, fmt.Errorf("test: %w", command.ErrConflict)
	}
	if int64(len(m.streams[id])) != expected {
		return command.Position{}, fmt.Errorf("test: %w", command.ErrConflict)
	}
	for _, e := range evs {
		m.streams[id] = append(m.streams[id], stored{e, meta.CommandID})
	}
	m.appends++
	return command.Position{StreamID: id, Version: int64(len(m.streams[id]))}, nil
}

var clock = func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }

func place() order.PlaceOrder {
	return order.PlaceOrder{
		CustomerID: "c-1",
		Items:      []order.Item{{ProductID: "p-1", Quantity: 3, UnitPrice: 1000}},
		Address:    order.Address{Line1: "1 Main St", City: "Seoul", CountryCode: "KR"},
	}
}

func TestPlaceOrderIsIdempotent(t *testing.T) {
	mem := newMem()
	h := command.New(mem, adapters.NewStockCheck(), adapters.NewCreditCheck(0), clock, command.DefaultConfig)
	ctx := context.Background()
	meta := command.Meta{CommandID: "cmd-1"}
	r1, err := h.PlaceOrder(ctx, meta, place())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := h.PlaceOrder(ctx, meta, place())
	if err != nil {
		t.Fatal(err)
	}
	if r1.Order.ID() != r2.Order.ID() || !r2.Duplicate || r1.Duplicate || r2.Position != r1.Position {
		t.Fatalf("retry: first %s %+v, second %s %+v dup=%v", r1.Order.ID(), r1.Position, r2.Order.ID(), r2.Position, r2.Duplicate)
	}
	if mem.appends != 1 || r1.Order.Total() != 3000 || r1.Order.Status() != order.Placed {
		t.Fatalf("appends %d, total %d, status %s", mem.appends, r1.Order.Total(), r1.Order.Status())
	}
	r3, err := h.PlaceOrder(ctx, command.Meta{CommandID: "cmd-2"}, place())
	if err != nil || r3.Order.ID() == r1.Order.ID() {
		t.Fatalf("another command id: %v, same order %v", err, r3.Order.ID() == r1.Order.ID())
	}
}

func TestChecksRejectBeforeAppending(t *testing.T) {
	ctx := context.Background()
	stock := adapters.NewStockCheck("p-1")
	credit := adapters.NewCreditCheck(2000)
	mem := newMem()
	h := command.New(mem, stock, credit, clock, command.DefaultConfig)
	_, err := h.PlaceOrder(ctx, command.Meta{CommandID: "a"}, place())
	var rej *command.RejectedError
	if !errors.As(err, &rej) || rej.Check != "stock" {
		t.Fatalf("stock: err = %v", err)
	}
	h = command.New(mem, adapters.NewStockCheck(), credit, clock, command.DefaultConfig)
	if _, err = h.PlaceOrder(ctx, command.Meta{CommandID: "b"}, place()); !errors.As(err, &rej) || rej.Check != "credit" {
		t.Fatalf("credit: err = %v", err)
	}
	down := adapters.NewStockCheck()
	down.SetUnavailable(true)
	h = command.New(mem, down, credit, clock, command.DefaultConfig)
	if _, err = h.PlaceOrder(ctx, command.Meta{CommandID: "c"}, place()); !errors.Is(err, command.ErrUnavailable) {
		t.Fatalf("unavailable: err = %v", err)
	}
	bad := place()
	bad.Items = nil
	if _, err = h.PlaceOrder(ctx, command.Meta{CommandID: "d"}, bad); !errors.Is(err, order.ErrInvalid) {
		t.Fatalf("invalid: err = %v", err)
	}
	if mem.appends != 0 {
		t.Fatalf("%d appends after rejections", mem.appends)
	}
}

func TestConflictsAreRetriedBounded(t *testing.T) {
	ctx := context.Background()
	mem := newMem()
	cfg := command.Config{MaxConflictRetries: 3}
	h := command.New(mem, adapters.NewStockCheck(), adapters.NewCreditCheck(0), clock, cfg)
	r, err := h.PlaceOrder(ctx, command.Meta{CommandID: "p"}, place())
	if err != nil {
		t.Fatal(err)
	}
	id := r.Order.ID()
	mem.conflict = 3
	if r, err = h.ConfirmOrder(ctx, command.Meta{CommandID: "c1"}, id, "pay", "res"); err != nil || r.Order.Status() != order.Confirmed {
		t.Fatalf("3 conflicts with 3 retries: %v", err)
	}
	mem.conflict = 4
	if _, err = h.ShipOrder(ctx, command.Meta{CommandID: "s1"}, id, "CJ", "T1"); !errors.Is(err, command.ErrConflict) {
		t.Fatalf("4 conflicts with 3 retries: err = %v", err)
	}
	// Retried confirm after success: recognised by its command id.
	if r, err = h.ConfirmOrder(ctx, command.Meta{CommandID: "c1"}, id, "pay", "res"); err != nil || !r.Duplicate {
		t.Fatalf("duplicate confirm: %v dup=%v", err, r.Duplicate)
	}
	// Another confirm is forbidden; cancel still allowed; then ship forbidden.
	if _, err = h.ConfirmOrder(ctx, command.Meta{CommandID: "c2"}, id, "pay", "res"); !errors.Is(err, order.ErrForbidden) {
		t.Fatalf("second confirm: %v", err)
	}
	if _, err = h.CancelOrder(ctx, command.Meta{CommandID: "x"}, id, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err = h.ShipOrder(ctx, command.Meta{CommandID: "s2"}, id, "CJ", "T"); !errors.Is(err, order.ErrForbidden) {
		t.Fatalf("ship cancelled: %v", err)
	}
	if _, err = h.ConfirmOrder(ctx, command.Meta{CommandID: "z"}, "nope", "", ""); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}
