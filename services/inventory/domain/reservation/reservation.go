package reservation

import (
	"errors"
	"fmt"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
)

// Status is where a reservation is in its life.
type Status int

// Reservation states.
const (
	StatusNew Status = iota
	StatusReserved
	StatusFailed
	StatusReleased
)

var statusNames = [...]string{"NEW", "RESERVED", "FAILED", "RELEASED"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ErrInvalid: a malformed command.
var ErrInvalid = errors.New("reservation: invalid command")

// Item is a quantity of one product.
type Item struct {
	ProductID string
	Quantity  int
}

// Reservation is the aggregate's state.
type Reservation struct {
	id      string
	orderID string
	status  Status
	items   []Item
	version int64
	// The outcomes recorded, to answer a repeated command with.
	reserve any // *events.StockReserved or *events.StockReservationFailed
	release *events.StockReleased
}

// New returns a reservation with no history.
func New(id string) *Reservation { return &Reservation{id: id} }

// ID returns the reservation id.
func (r *Reservation) ID() string { return r.id }

// OrderID returns the order ("" while NEW).
func (r *Reservation) OrderID() string { return r.orderID }

// Status returns the state.
func (r *Reservation) Status() Status { return r.status }

// Items returns the items held (RESERVED) or that were held (RELEASED).
func (r *Reservation) Items() []Item { return append([]Item(nil), r.items...) }

// Version returns the number of events applied.
func (r *Reservation) Version() int64 { return r.version }

// Apply folds one event into the state; unknown events are errors.
func (r *Reservation) Apply(e any) error {
	switch e := e.(type) {
	case *events.StockReserved:
		if r.status != StatusNew {
			return fmt.Errorf("reservation %s: StockReserved in state %s", r.id, r.status)
		}
		r.orderID, r.status, r.items = e.OrderID, StatusReserved, fromEvent(e.Items)
		r.reserve = e
	case *events.StockReservationFailed:
		if r.status != StatusNew {
			return fmt.Errorf("reservation %s: StockReservationFailed in state %s", r.id, r.status)
		}
		r.orderID, r.status = e.OrderID, StatusFailed
		r.reserve = e
	case *events.StockReleased:
		if r.status == StatusReleased {
			return fmt.Errorf("reservation %s: StockReleased in state %s", r.id, r.status)
		}
		r.orderID, r.status = e.OrderID, StatusReleased
		r.release = e
	default:
		return fmt.Errorf("reservation %s: unknown event %T", r.id, e)
	}
	r.version++
	return nil
}

// ReserveOutcome is the answer recorded to a reservation request, for a
// repeated ReserveStock: StockReserved or StockReservationFailed, or, for a
// reservation voided before it was made, a StockReservationFailed saying so.
// nil while NEW.
func (r *Reservation) ReserveOutcome() any {
	switch {
	case r.reserve != nil:
		return r.reserve
	case r.release != nil:
		return &events.StockReservationFailed{ReservationID: r.id, OrderID: r.orderID, Reason: "reservation voided before it was made",
			UnavailableProductIds: []string{}, FailedAt: r.release.ReleasedAt}
	}
	return nil
}

// ReleaseOutcome is the StockReleased recorded, for a repeated ReleaseStock;
// nil unless RELEASED.
func (r *Reservation) ReleaseOutcome() any {
	if r.release == nil {
		return nil
	}
	return r.release
}

// Validate checks the items of a reservation request.
func Validate(orderID string, items []Item) error {
	var errs []error
	if orderID == "" {
		errs = append(errs, errors.New("order_id is empty"))
	}
	if len(items) == 0 {
		errs = append(errs, errors.New("no items"))
	}
	for i, it := range items {
		if it.ProductID == "" || it.Quantity <= 0 {
			errs = append(errs, fmt.Errorf("item %d: product %q quantity %d", i, it.ProductID, it.Quantity))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Decided reports whether the reservation was already answered (reserved,
// failed or released): a repeated ReserveStock then decides nothing.
func (r *Reservation) Decided() bool { return r.status != StatusNew }

// DecideReserved records that every item is held.
func (r *Reservation) DecideReserved(orderID string, items []Item, now time.Time) ([]any, error) {
	if err := Validate(orderID, items); err != nil {
		return nil, err
	}
	if r.Decided() {
		return nil, nil
	}
	return []any{&events.StockReserved{ReservationID: r.id, OrderID: orderID, Items: toEvent(items), ReservedAt: now}}, nil
}

// DecideFailed records that the reservation could not be made.
func (r *Reservation) DecideFailed(orderID, reason string, unavailable []string, now time.Time) ([]any, error) {
	if r.Decided() {
		return nil, nil
	}
	if unavailable == nil {
		unavailable = []string{}
	}
	return []any{&events.StockReservationFailed{ReservationID: r.id, OrderID: orderID, Reason: reason,
		UnavailableProductIds: unavailable, FailedAt: now}}, nil
}

// DecideReleased records the release: the items held (none when the
// reservation failed or was never made, which voids it: a later ReserveStock
// is not made). A released reservation decides nothing.
func (r *Reservation) DecideReleased(orderID string, now time.Time) ([]any, error) {
	if r.status == StatusReleased {
		return nil, nil
	}
	var items []Item
	if r.status == StatusReserved {
		items = r.items
	}
	return []any{&events.StockReleased{ReservationID: r.id, OrderID: orderID, Items: toEvent(items), ReleasedAt: now}}, nil
}

func fromEvent(items []events.StockItem) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out
}

func toEvent(items []Item) []events.StockItem {
	out := make([]events.StockItem, len(items))
	for i, it := range items {
		out[i] = events.StockItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out
}
