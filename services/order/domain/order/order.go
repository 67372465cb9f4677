package order

import (
	"fmt"
	"time"

	events "github.com/stratahq/strata/gen/avro/order"
)

// Status is where an order is in its life cycle.
type Status int

// The states of an order.
const (
	Draft Status = iota
	Placed
	Confirmed
	Shipped
	Cancelled
)

var statusNames = [...]string{"DRAFT", "PLACED", "CONFIRMED", "SHIPPED", "CANCELLED"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// ParseStatus parses the upper-case name of a status.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// DefaultCurrency is used when a command names none (the seed design's default).
const DefaultCurrency = "KRW"

// Item is one order line; UnitPrice is in minor units of the order's currency.
type Item struct {
	ProductID string
	Quantity  int
	UnitPrice int64
}

// Address is where an order is delivered.
type Address struct {
	Recipient, Line1, Line2, City, PostalCode, CountryCode string
}

// Order is the aggregate's state, rebuilt from its events.
type Order struct {
	id             string
	version        int64 // number of events applied
	status         Status
	customerID     string
	items          []Item
	total          int64
	currency       string
	shippingMethod string
	address        Address
	placedAt       time.Time
	updatedAt      time.Time
	paymentID      string
	reservationID  string
	carrier        string
	trackingNumber string
	cancelReason   string
	confirmedAt    time.Time
	cancelledAt    time.Time
}

// New returns an order in DRAFT with no history.
func New(id string) *Order { return &Order{id: id} }

// ID returns the order's id (its stream id).
func (o *Order) ID() string { return o.id }

// Version is the number of events applied so far (0 for a draft).
func (o *Order) Version() int64 { return o.version }

// Status returns the current state.
func (o *Order) Status() Status { return o.status }

// CustomerID returns the customer who placed the order.
func (o *Order) CustomerID() string { return o.customerID }

// Items returns a copy of the order lines.
func (o *Order) Items() []Item { return append([]Item(nil), o.items...) }

// Total returns the order total in minor units of Currency.
func (o *Order) Total() int64 { return o.total }

// Currency returns the ISO 4217 code of the order's amounts.
func (o *Order) Currency() string { return o.currency }

// ShippingMethod returns STANDARD, EXPRESS or PICKUP.
func (o *Order) ShippingMethod() string { return o.shippingMethod }

// Address returns the delivery address.
func (o *Order) Address() Address { return o.address }

// PlacedAt returns when the order was placed.
func (o *Order) PlacedAt() time.Time { return o.placedAt }

// UpdatedAt returns the time of the latest event.
func (o *Order) UpdatedAt() time.Time { return o.updatedAt }

// Outcome is the event the order recorded that answers a repeated saga
// command ("confirm" or "cancel"), or nil when it recorded none: a confirmed
// (or shipped) order answers a confirmation with its OrderConfirmed, a
// cancelled one answers a confirmation or a cancellation with its
// OrderCancelled.
func (o *Order) Outcome(command string) any {
	switch {
	case o.status == Cancelled && (command == "confirm" || command == "cancel"):
		return &events.OrderCancelled{OrderID: o.id, Reason: o.cancelReason, CancelledAt: o.cancelledAt}
	case (o.status == Confirmed || o.status == Shipped) && command == "confirm":
		return &events.OrderConfirmed{OrderID: o.id, PaymentID: o.paymentID, ReservationID: o.reservationID, ConfirmedAt: o.confirmedAt}
	}
	return nil
}

// CancelReason returns why the order was cancelled, if it was.
func (o *Order) CancelReason() string { return o.cancelReason }

// Shipment returns carrier and tracking number once shipped.
func (o *Order) Shipment() (carrier, tracking string) { return o.carrier, o.trackingNumber }

// Apply folds one event into the state. Events of other types, and events that
// the current state cannot follow, are errors: history is never silently skipped.
func (o *Order) Apply(e any) error {
	switch e := e.(type) {
	case *events.OrderPlaced:
		if o.status != Draft {
			return fmt.Errorf("order %s: OrderPlaced in state %s", o.id, o.status)
		}
		o.customerID = e.CustomerID
		o.items = make([]Item, len(e.Items))
		for i, it := range e.Items {
			o.items[i] = Item{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		}
		o.total = e.TotalAmount
		o.currency = e.Currency
		o.shippingMethod = e.ShippingMethod
		a := e.ShippingAddress
		o.address = Address{Recipient: a.Recipient, Line1: a.Line1, City: a.City, PostalCode: a.PostalCode, CountryCode: a.CountryCode}
		if a.Line2 != nil {
			o.address.Line2 = *a.Line2
		}
		o.placedAt, o.updatedAt = e.PlacedAt, e.PlacedAt
		o.status = Placed
	case *events.OrderConfirmed:
		if o.status != Placed {
			return fmt.Errorf("order %s: OrderConfirmed in state %s", o.id, o.status)
		}
		o.paymentID, o.reservationID = e.PaymentID, e.ReservationID
		o.updatedAt, o.confirmedAt = e.ConfirmedAt, e.ConfirmedAt
		o.status = Confirmed
	case *events.OrderShipped:
		if o.status != Confirmed {
			return fmt.Errorf("order %s: OrderShipped in state %s", o.id, o.status)
		}
		o.carrier, o.trackingNumber = e.Carrier, e.TrackingNumber
		o.updatedAt = e.ShippedAt
		o.status = Shipped
	case *events.OrderCancelled:
		if o.status != Placed && o.status != Confirmed {
			return fmt.Errorf("order %s: OrderCancelled in state %s", o.id, o.status)
		}
		o.cancelReason = e.Reason
		o.updatedAt, o.cancelledAt = e.CancelledAt, e.CancelledAt
		o.status = Cancelled
	default:
		return fmt.Errorf("order %s: unknown event %T", o.id, e)
	}
	o.version++
	return nil
}

// ApplyAll applies events in order, stopping at the first error.
func (o *Order) ApplyAll(evs ...any) error {
	for i, e := range evs {
		if err := o.Apply(e); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}
