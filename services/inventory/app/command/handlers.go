package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/services/inventory/domain/reservation"
	"github.com/stratahq/strata/services/inventory/domain/stock"
)

// Meta is what every appended event records about the command behind it.
type Meta struct {
	CommandID     string // causation id; event ids derive from it
	CorrelationID string // the saga id
	// Part names one append of a command that appends to one stream more
	// than once (reserve, then undo); event ids derive from CommandID+Part.
	Part string
}

// Stocks runs decide on a product's stock and appends what it decides,
// retrying a bounded number of times on a concurrent change.
type Stocks interface {
	Execute(ctx context.Context, productID string, meta Meta, decide func(s *stock.Stock) ([]any, error)) error
}

// Reservations loads reservations and appends their events.
type Reservations interface {
	Load(ctx context.Context, reservationID string) (*reservation.Reservation, error)
	Execute(ctx context.Context, reservationID string, meta Meta, decide func(r *reservation.Reservation) ([]any, error)) error
}

// Faults is the inventory service's failure injection.
// ErrChanged: the reservation changed under a handler in a way that needs
// the command handled again (a retryable error).
var ErrChanged = errors.New("reservation changed while the command was handled")

// Answers answers a repeated command with the outcome already recorded.
type Answers interface {
	Answer(ctx context.Context, commandID, correlationID string, ev any) error
}

type Faults interface {
	// OutOfStock reports a product that must be treated as having no units.
	OutOfStock(productID string) bool
	// Delay is how long to wait before answering a reservation.
	Delay() time.Duration
}

// Config tunes the handlers.
type Config struct {
	// InitialStock is received for a product the first time it is reserved
	// (a demo convenience; 0: products have only what StockReceived gave them).
	InitialStock int
}

// Handlers are the inventory use cases.
type Handlers struct {
	stocks       Stocks
	reservations Reservations
	faults       Faults
	answers      Answers
	now          func() time.Time
	cfg          Config
}

// New returns the handlers.
func New(stocks Stocks, reservations Reservations, faults Faults, answers Answers, now func() time.Time, cfg Config) *Handlers {
	return &Handlers{stocks: stocks, reservations: reservations, faults: faults, answers: answers, now: now, cfg: cfg}
}

// answer answers a repeated command with the outcome recorded.
func (h *Handlers) answer(ctx context.Context, meta Meta, reservationID string, outcome any) error {
	if h.answers == nil || outcome == nil {
		return nil
	}
	if err := h.answers.Answer(ctx, meta.CommandID, meta.CorrelationID, outcome); err != nil {
		return fmt.Errorf("reservation %s: %w", reservationID, err)
	}
	return nil
}

// releaseHeld frees what the products hold for a reservation that was
// voided (a no-op for products that hold nothing for it).
func (h *Handlers) releaseHeld(ctx context.Context, meta Meta, reservationID, orderID string, items []reservation.Item, now time.Time) error {
	for _, it := range items {
		err := h.stocks.Execute(ctx, it.ProductID, sub(meta, "void"), func(s *stock.Stock) ([]any, error) {
			return s.DecideRelease(reservationID, orderID, now)
		})
		if err != nil {
			return fmt.Errorf("release %s: product %s: %w", reservationID, it.ProductID, err)
		}
	}
	return nil
}

// sub derives the command id of one step of a command, so that two appends
// of one command to one stream get distinct event ids.
func sub(m Meta, part string) Meta {
	m.Part = part
	return m
}

// ReserveStock holds every item of the command or none: StockReserved, or
// StockReservationFailed naming the products short of units.
func (h *Handlers) ReserveStock(ctx context.Context, meta Meta, c *events.ReserveStock) error {
	if d := h.faults.Delay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	items := merge(c.Items)
	if err := reservation.Validate(c.OrderID, items); err != nil {
		return fmt.Errorf("reserve %s: %w", c.ReservationID, err)
	}
	r, err := h.reservations.Load(ctx, c.ReservationID)
	if err != nil {
		return fmt.Errorf("reserve %s: %w", c.ReservationID, err)
	}
	now := h.now().UTC()
	if r.Decided() {
		if r.Status() == reservation.StatusReleased {
			// Voided (or released): whatever an earlier attempt of this
			// request held before it died is given back.
			if err := h.releaseHeld(ctx, meta, c.ReservationID, c.OrderID, items, now); err != nil {
				return err
			}
		}
		return h.answer(ctx, meta, c.ReservationID, r.ReserveOutcome())
	}
	var unavailable, reasons []string
	var held []string
	for _, it := range items {
		if len(unavailable) > 0 {
			break
		}
		if h.faults.OutOfStock(it.ProductID) {
			unavailable = append(unavailable, it.ProductID)
			reasons = append(reasons, it.ProductID+": out of stock (INVENTORY_OUT_OF_STOCK_PRODUCTS)")
			break
		}
		err := h.stocks.Execute(ctx, it.ProductID, sub(meta, "reserve"), func(s *stock.Stock) ([]any, error) {
			return h.decideReserve(s, c.ReservationID, c.OrderID, it.Quantity, now)
		})
		switch {
		case errors.Is(err, stock.ErrInsufficient), errors.Is(err, stock.ErrReleased):
			unavailable = append(unavailable, it.ProductID)
			reasons = append(reasons, err.Error())
		case err != nil:
			return fmt.Errorf("reserve %s: product %s: %w", c.ReservationID, it.ProductID, err)
		default:
			held = append(held, it.ProductID)
		}
	}
	if len(unavailable) > 0 {
		for _, p := range held {
			err := h.stocks.Execute(ctx, p, sub(meta, "undo"), func(s *stock.Stock) ([]any, error) {
				return s.DecideRelease(c.ReservationID, c.OrderID, now)
			})
			if err != nil {
				return fmt.Errorf("reserve %s: undo product %s: %w", c.ReservationID, p, err)
			}
		}
		return h.decideReservation(ctx, meta, c, items, now, func(r *reservation.Reservation) ([]any, error) {
			return r.DecideFailed(c.OrderID, strings.Join(reasons, "; "), unavailable, now)
		})
	}
	return h.decideReservation(ctx, meta, c, items, now, func(r *reservation.Reservation) ([]any, error) {
		return r.DecideReserved(c.OrderID, items, now)
	})
}

// decideReservation records the reservation's answer. When another handler
// decided first, the command is answered with what it recorded, and units
// this one held are given back if that was a void.
func (h *Handlers) decideReservation(ctx context.Context, meta Meta, c *events.ReserveStock, items []reservation.Item, now time.Time,
	decide func(r *reservation.Reservation) ([]any, error)) error {
	var decided bool
	var final *reservation.Reservation
	err := h.reservations.Execute(ctx, c.ReservationID, sub(meta, "answer"), func(r *reservation.Reservation) ([]any, error) {
		evs, err := decide(r)
		decided, final = len(evs) > 0, r
		return evs, err
	})
	if err != nil {
		return fmt.Errorf("reserve %s: %w", c.ReservationID, err)
	}
	if decided {
		return nil
	}
	if final.Status() == reservation.StatusReleased {
		if err := h.releaseHeld(ctx, meta, c.ReservationID, c.OrderID, items, now); err != nil {
			return err
		}
	}
	return h.answer(ctx, meta, c.ReservationID, final.ReserveOutcome())
}

// decideReserve reserves on s, first receiving the configured initial stock
// for a product never seen before.
func (h *Handlers) decideReserve(s *stock.Stock, reservationID, orderID string, qty int, now time.Time) ([]any, error) {
	if s.Version() > 0 || h.cfg.InitialStock <= 0 {
		return s.DecideReserve(reservationID, orderID, qty, now)
	}
	received, err := s.DecideReceive(h.cfg.InitialStock, now)
	if err != nil {
		return nil, err
	}
	fresh := stock.New(s.ProductID())
	for _, e := range received {
		if err := fresh.Apply(e); err != nil {
			return nil, err
		}
	}
	reserved, err := fresh.DecideReserve(reservationID, orderID, qty, now)
	if err != nil {
		return nil, err
	}
	return append(received, reserved...), nil
}

// ReleaseStock frees what a reservation holds and records StockReleased (with
// no items when nothing was held, which also voids a reservation that has not
// been made yet).
func (h *Handlers) ReleaseStock(ctx context.Context, meta Meta, c *events.ReleaseStock) error {
	r, err := h.reservations.Load(ctx, c.ReservationID)
	if err != nil {
		return fmt.Errorf("release %s: %w", c.ReservationID, err)
	}
	if r.Status() == reservation.StatusReleased {
		return h.answer(ctx, meta, c.ReservationID, r.ReleaseOutcome())
	}
	now := h.now().UTC()
	loaded := r.Status()
	if loaded == reservation.StatusReserved {
		for _, it := range r.Items() {
			err := h.stocks.Execute(ctx, it.ProductID, sub(meta, "release"), func(s *stock.Stock) ([]any, error) {
				return s.DecideRelease(c.ReservationID, c.OrderID, now)
			})
			if err != nil {
				return fmt.Errorf("release %s: product %s: %w", c.ReservationID, it.ProductID, err)
			}
		}
	}
	var decided bool
	var final *reservation.Reservation
	err = h.reservations.Execute(ctx, c.ReservationID, sub(meta, "answer"), func(r *reservation.Reservation) ([]any, error) {
		if r.Status() == reservation.StatusReserved && loaded != reservation.StatusReserved {
			// Reserved after this handler looked: its units were not freed
			// above; fail, so the command is retried on the new state.
			return nil, fmt.Errorf("reservation %s was made while it was released: %w", c.ReservationID, ErrChanged)
		}
		evs, err := r.DecideReleased(c.OrderID, now)
		decided, final = len(evs) > 0, r
		return evs, err
	})
	if err != nil {
		return fmt.Errorf("release %s: %w", c.ReservationID, err)
	}
	if decided {
		return nil
	}
	return h.answer(ctx, meta, c.ReservationID, final.ReleaseOutcome())
}

// merge sums quantities per product and sorts by product id (a stable order
// across retries).
func merge(items []events.StockItem) []reservation.Item {
	sum := map[string]int{}
	for _, it := range items {
		sum[it.ProductID] += it.Quantity
	}
	out := make([]reservation.Item, 0, len(sum))
	for p, q := range sum {
		out = append(out, reservation.Item{ProductID: p, Quantity: q})
	}
	slices.SortFunc(out, func(a, b reservation.Item) int { return cmp.Compare(a.ProductID, b.ProductID) })
	return out
}
