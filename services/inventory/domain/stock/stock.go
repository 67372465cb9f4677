package stock

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
)

// Errors.
var (
	// ErrInsufficient: fewer units are available than asked for.
	ErrInsufficient = errors.New("stock: not enough units available")
	// ErrReleased: the reservation was released already and cannot be made again.
	ErrReleased = errors.New("stock: reservation already released")
	// ErrInvalid: a malformed command.
	ErrInvalid = errors.New("stock: invalid command")
)

// Stock is one product's stock, rebuilt from its events.
type Stock struct {
	productID string
	onHand    int
	reserved  map[string]int // reservation id -> units held
	released  map[string]bool
	version   int64
}

// New returns the stock of a product with no history.
func New(productID string) *Stock {
	return &Stock{productID: productID, reserved: map[string]int{}, released: map[string]bool{}}
}

// ProductID returns the product.
func (s *Stock) ProductID() string { return s.productID }

// OnHand returns the units in the warehouse (reserved or not).
func (s *Stock) OnHand() int { return s.onHand }

// Reserved returns the units held by reservations.
func (s *Stock) Reserved() int {
	n := 0
	for _, q := range s.reserved {
		n += q
	}
	return n
}

// Available returns the units that can still be reserved.
func (s *Stock) Available() int { return s.onHand - s.Reserved() }

// HeldBy returns the units held by a reservation.
func (s *Stock) HeldBy(reservationID string) int { return s.reserved[reservationID] }

// Reservations returns reservation id -> units held.
func (s *Stock) Reservations() map[string]int { return maps.Clone(s.reserved) }

// Version returns the number of events applied.
func (s *Stock) Version() int64 { return s.version }

// Apply folds one event into the state; unknown events are errors.
func (s *Stock) Apply(e any) error {
	switch e := e.(type) {
	case *events.StockReceived:
		if e.ProductID != s.productID {
			return fmt.Errorf("stock %s: StockReceived for %s", s.productID, e.ProductID)
		}
		s.onHand += e.Quantity
	case *events.StockReserved:
		q, err := s.quantity(e.Items)
		if err != nil {
			return err
		}
		s.reserved[e.ReservationID] += q
	case *events.StockReleased:
		delete(s.reserved, e.ReservationID)
		s.released[e.ReservationID] = true
	default:
		return fmt.Errorf("stock %s: unknown event %T", s.productID, e)
	}
	s.version++
	return nil
}

func (s *Stock) quantity(items []events.StockItem) (int, error) {
	q := 0
	for _, it := range items {
		if it.ProductID != s.productID {
			return 0, fmt.Errorf("stock %s: event item for product %s", s.productID, it.ProductID)
		}
		q += it.Quantity
	}
	return q, nil
}

// DecideReceive adds units to the stock.
func (s *Stock) DecideReceive(quantity int, now time.Time) ([]any, error) {
	if quantity <= 0 {
		return nil, fmt.Errorf("%w: receive %d units", ErrInvalid, quantity)
	}
	return []any{&events.StockReceived{ProductID: s.productID, Quantity: quantity, ReceivedAt: now}}, nil
}

// DecideReserve holds quantity units for a reservation. Holding again for the
// same reservation decides nothing; a released reservation is refused
// (ErrReleased), as is a quantity above what is available (ErrInsufficient).
func (s *Stock) DecideReserve(reservationID, orderID string, quantity int, now time.Time) ([]any, error) {
	if reservationID == "" || quantity <= 0 {
		return nil, fmt.Errorf("%w: reserve %d units for %q", ErrInvalid, quantity, reservationID)
	}
	if _, held := s.reserved[reservationID]; held {
		return nil, nil
	}
	if s.released[reservationID] {
		return nil, fmt.Errorf("product %s, reservation %s: %w", s.productID, reservationID, ErrReleased)
	}
	if s.Available() < quantity {
		return nil, fmt.Errorf("product %s: %d available, %d asked: %w", s.productID, s.Available(), quantity, ErrInsufficient)
	}
	return []any{&events.StockReserved{ReservationID: reservationID, OrderID: orderID,
		Items: []events.StockItem{{ProductID: s.productID, Quantity: quantity}}, ReservedAt: now}}, nil
}

// DecideRelease frees the units of a reservation; a reservation that holds
// nothing here decides nothing.
func (s *Stock) DecideRelease(reservationID, orderID string, now time.Time) ([]any, error) {
	q, held := s.reserved[reservationID]
	if !held {
		return nil, nil
	}
	return []any{&events.StockReleased{ReservationID: reservationID, OrderID: orderID,
		Items: []events.StockItem{{ProductID: s.productID, Quantity: q}}, ReleasedAt: now}}, nil
}

// Snapshot is a product's stock in a storable form (aggregate snapshots).
type Snapshot struct {
	ProductID string         `json:"product_id"`
	OnHand    int            `json:"on_hand"`
	Reserved  map[string]int `json:"reserved"`
	Released  []string       `json:"released"`
	Version   int64          `json:"version"`
}

// Snapshot returns the state as a Snapshot.
func (s *Stock) Snapshot() Snapshot {
	released := make([]string, 0, len(s.released))
	for id := range s.released {
		released = append(released, id)
	}
	slices.Sort(released)
	return Snapshot{ProductID: s.productID, OnHand: s.onHand, Reserved: maps.Clone(s.reserved), Released: released, Version: s.version}
}

// FromSnapshot rebuilds the stock a Snapshot was taken of.
func FromSnapshot(sn Snapshot) *Stock {
	s := New(sn.ProductID)
	s.onHand, s.version = sn.OnHand, sn.Version
	for id, q := range sn.Reserved {
		s.reserved[id] = q
	}
	for _, id := range sn.Released {
		s.released[id] = true
	}
	return s
}
