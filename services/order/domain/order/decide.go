package order

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	events "github.com/stratahq/strata/gen/avro/order"
)

// PlaceOrder is the input of Place.
type PlaceOrder struct {
	CustomerID     string
	Items          []Item
	Currency       string // ISO 4217; empty means DefaultCurrency
	ShippingMethod string // STANDARD, EXPRESS, PICKUP; empty means STANDARD
	Address        Address
	// ExpectedTotal, when non-zero, must equal the computed total (a client
	// that shows a total to the customer sends it to catch price drift).
	ExpectedTotal int64
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate reports every invalid field of the command at once.
func (c PlaceOrder) Validate() error {
	v := &ValidationError{}
	if strings.TrimSpace(c.CustomerID) == "" {
		v.add("customer_id", "must not be empty")
	}
	if len(c.Items) == 0 {
		v.add("items", "an order needs at least one item")
	}
	for i, it := range c.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(it.ProductID) == "" {
			v.add(f+".product_id", "must not be empty")
		}
		if it.Quantity <= 0 {
			v.add(f+".quantity", "must be positive, got %d", it.Quantity)
		}
		if it.UnitPrice <= 0 {
			v.add(f+".unit_price", "must be positive, got %d", it.UnitPrice)
		}
	}
	if c.Currency != "" && !currencyRE.MatchString(c.Currency) {
		v.add("currency", "must be an ISO 4217 code such as KRW, got %q", c.Currency)
	}
	switch c.ShippingMethod {
	case "", "STANDARD", "EXPRESS", "PICKUP":
	default:
		v.add("shipping_method", "must be STANDARD, EXPRESS or PICKUP, got %q", c.ShippingMethod)
	}
	if c.ShippingMethod != "PICKUP" {
		if strings.TrimSpace(c.Address.Line1) == "" {
			v.add("shipping_address.line1", "must not be empty")
		}
		if strings.TrimSpace(c.Address.City) == "" {
			v.add("shipping_address.city", "must not be empty")
		}
		if len(c.Address.CountryCode) != 2 {
			v.add("shipping_address.country_code", "must be an ISO 3166-1 alpha-2 code, got %q", c.Address.CountryCode)
		}
	}
	if len(v.Violations) == 0 {
		total, ok := Total(c.Items)
		if !ok {
			v.add("items", "total overflows")
		} else if c.ExpectedTotal != 0 && c.ExpectedTotal != total {
			v.add("expected_total", "is %d but the items sum to %d", c.ExpectedTotal, total)
		}
	}
	return v.orNil()
}

// Total returns sum(quantity x unit price); ok is false on overflow.
func Total(items []Item) (total int64, ok bool) {
	for _, it := range items {
		q := int64(it.Quantity)
		if q != 0 && it.UnitPrice > math.MaxInt64/q {
			return 0, false
		}
		line := q * it.UnitPrice
		if total > math.MaxInt64-line {
			return 0, false
		}
		total += line
	}
	return total, true
}

// Place decides the first event of an order. Only a DRAFT can be placed.
func (o *Order) Place(c PlaceOrder, now time.Time) ([]any, error) {
	if o.status != Draft {
		return nil, &StateError{Command: "place", State: o.status}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	total, _ := Total(c.Items)
	items := make([]events.OrderItem, len(c.Items))
	for i, it := range c.Items {
		items[i] = events.OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	cur := c.Currency
	if cur == "" {
		cur = DefaultCurrency
	}
	method := c.ShippingMethod
	if method == "" {
		method = "STANDARD"
	}
	addr := events.Address{
		Recipient: c.Address.Recipient, Line1: c.Address.Line1, City: c.Address.City,
		PostalCode: c.Address.PostalCode, CountryCode: c.Address.CountryCode,
	}
	if c.Address.Line2 != "" {
		l2 := c.Address.Line2
		addr.Line2 = &l2
	}
	return []any{&events.OrderPlaced{
		OrderID: o.id, CustomerID: c.CustomerID, Items: items, TotalAmount: total,
		Currency: cur, ShippingMethod: method, ShippingAddress: addr, PlacedAt: now.UTC().Truncate(time.Millisecond),
	}}, nil
}

// Confirm decides OrderConfirmed; only a PLACED order can be confirmed.
func (o *Order) Confirm(paymentID, reservationID string, now time.Time) ([]any, error) {
	if o.status != Placed {
		return nil, &StateError{Command: "confirm", State: o.status}
	}
	return []any{&events.OrderConfirmed{OrderID: o.id, PaymentID: paymentID, ReservationID: reservationID, ConfirmedAt: now.UTC().Truncate(time.Millisecond)}}, nil
}

// Ship decides OrderShipped; only a CONFIRMED order can be shipped.
func (o *Order) Ship(carrier, tracking string, now time.Time) ([]any, error) {
	if o.status != Confirmed {
		return nil, &StateError{Command: "ship", State: o.status}
	}
	v := &ValidationError{}
	if strings.TrimSpace(carrier) == "" {
		v.add("carrier", "must not be empty")
	}
	if strings.TrimSpace(tracking) == "" {
		v.add("tracking_number", "must not be empty")
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	return []any{&events.OrderShipped{OrderID: o.id, Carrier: carrier, TrackingNumber: tracking, ShippedAt: now.UTC().Truncate(time.Millisecond)}}, nil
}

// Cancel decides OrderCancelled; PLACED and CONFIRMED orders can be cancelled.
func (o *Order) Cancel(reason string, now time.Time) ([]any, error) {
	if o.status != Placed && o.status != Confirmed {
		return nil, &StateError{Command: "cancel", State: o.status}
	}
	if strings.TrimSpace(reason) == "" {
		return nil, &ValidationError{Violations: []FieldViolation{{Field: "reason", Description: "must not be empty"}}}
	}
	return []any{&events.OrderCancelled{OrderID: o.id, Reason: reason, CancelledAt: now.UTC().Truncate(time.Millisecond)}}, nil
}
