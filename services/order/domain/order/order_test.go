package order_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/services/order/domain/order"
)

var (
	t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func validPlace() order.PlaceOrder {
	return order.PlaceOrder{
		CustomerID: "c-1",
		Items:      []order.Item{{ProductID: "p-1", Quantity: 2, UnitPrice: 1500}, {ProductID: "p-2", Quantity: 1, UnitPrice: 700}},
		Address:    order.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	}
}

func placed() *events.OrderPlaced {
	return &events.OrderPlaced{
		OrderID: "o-1", CustomerID: "c-1",
		Items:       []events.OrderItem{{ProductID: "p-1", Quantity: 2, UnitPrice: 1500}, {ProductID: "p-2", Quantity: 1, UnitPrice: 700}},
		TotalAmount: 3700, Currency: "KRW", ShippingMethod: "STANDARD",
		ShippingAddress: events.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
		PlacedAt:        t0,
	}
}

func confirmed() *events.OrderConfirmed {
	return &events.OrderConfirmed{OrderID: "o-1", PaymentID: "pay", ReservationID: "res", ConfirmedAt: t0}
}
func shipped() *events.OrderShipped {
	return &events.OrderShipped{OrderID: "o-1", Carrier: "CJ", TrackingNumber: "T1", ShippedAt: t0}
}
func cancelled() *events.OrderCancelled {
	return &events.OrderCancelled{OrderID: "o-1", Reason: "r", CancelledAt: t0}
}

func TestDecisions(t *testing.T) {
	type decide func(o *order.Order) ([]any, error)
	place := func(c order.PlaceOrder) decide { return func(o *order.Order) ([]any, error) { return o.Place(c, t1) } }
	confirm := func(o *order.Order) ([]any, error) { return o.Confirm("pay-2", "res-2", t1) }
	ship := func(o *order.Order) ([]any, error) { return o.Ship("CJ", "T9", t1) }
	cancel := func(o *order.Order) ([]any, error) { return o.Cancel("changed mind", t1) }
	mutate := func(f func(*order.PlaceOrder)) order.PlaceOrder { c := validPlace(); f(&c); return c }

	wantPlaced := placed()
	wantPlaced.PlacedAt = t1
	cases := []struct {
		name    string
		given   []any
		cmd     decide
		want    []any
		wantErr error
		field   string // a field violation that must be reported
	}{
		{"place draft", nil, place(validPlace()), []any{wantPlaced}, nil, ""},
		{"place computes total and defaults", nil, place(mutate(func(c *order.PlaceOrder) { c.ExpectedTotal = 3700 })), []any{wantPlaced}, nil, ""},
		{"place twice", []any{placed()}, place(validPlace()), nil, order.ErrForbidden, ""},
		{"place no items", nil, place(mutate(func(c *order.PlaceOrder) { c.Items = nil })), nil, order.ErrInvalid, "items"},
		{"place zero quantity", nil, place(mutate(func(c *order.PlaceOrder) { c.Items[1].Quantity = 0 })), nil, order.ErrInvalid, "items[1].quantity"},
		{"place negative price", nil, place(mutate(func(c *order.PlaceOrder) { c.Items[0].UnitPrice = -5 })), nil, order.ErrInvalid, "items[0].unit_price"},
		{"place wrong expected total", nil, place(mutate(func(c *order.PlaceOrder) { c.ExpectedTotal = 1 })), nil, order.ErrInvalid, "expected_total"},
		{"place bad currency", nil, place(mutate(func(c *order.PlaceOrder) { c.Currency = "won" })), nil, order.ErrInvalid, "currency"},
		{"place no customer", nil, place(mutate(func(c *order.PlaceOrder) { c.CustomerID = " " })), nil, order.ErrInvalid, "customer_id"},
		{"place overflow", nil, place(mutate(func(c *order.PlaceOrder) { c.Items[0].UnitPrice = 1 << 62; c.Items[0].Quantity = 4 })), nil, order.ErrInvalid, "items"},
		{"confirm placed", []any{placed()}, confirm, []any{&events.OrderConfirmed{OrderID: "o-1", PaymentID: "pay-2", ReservationID: "res-2", ConfirmedAt: t1}}, nil, ""},
		{"confirm draft", nil, confirm, nil, order.ErrForbidden, ""},
		{"confirm confirmed", []any{placed(), confirmed()}, confirm, nil, order.ErrForbidden, ""},
		{"confirm cancelled", []any{placed(), cancelled()}, confirm, nil, order.ErrForbidden, ""},
		{"ship confirmed", []any{placed(), confirmed()}, ship, []any{&events.OrderShipped{OrderID: "o-1", Carrier: "CJ", TrackingNumber: "T9", ShippedAt: t1}}, nil, ""},
		{"ship before confirmation", []any{placed()}, ship, nil, order.ErrForbidden, ""},
		{"ship without carrier", []any{placed(), confirmed()}, func(o *order.Order) ([]any, error) { return o.Ship("", "T", t1) }, nil, order.ErrInvalid, "carrier"},
		{"cancel placed", []any{placed()}, cancel, []any{&events.OrderCancelled{OrderID: "o-1", Reason: "changed mind", CancelledAt: t1}}, nil, ""},
		{"cancel confirmed", []any{placed(), confirmed()}, cancel, []any{&events.OrderCancelled{OrderID: "o-1", Reason: "changed mind", CancelledAt: t1}}, nil, ""},
		{"cancel shipped", []any{placed(), confirmed(), shipped()}, cancel, nil, order.ErrForbidden, ""},
		{"cancel cancelled", []any{placed(), cancelled()}, cancel, nil, order.ErrForbidden, ""},
		{"cancel draft", nil, cancel, nil, order.ErrForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := order.New("o-1")
			if err := o.ApplyAll(tc.given...); err != nil {
				t.Fatalf("given: %v", err)
			}
			before := *o
			got, err := tc.cmd(o)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.field != "" {
				var ve *order.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err %v is not a *ValidationError", err)
				}
				found := false
				for _, v := range ve.Violations {
					found = found || v.Field == tc.field
				}
				if !found {
					t.Fatalf("violations %v lack field %q", ve.Violations, tc.field)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events = %#v, want %#v", got, tc.want)
			}
			if !reflect.DeepEqual(before, *o) {
				t.Fatal("a decision changed the aggregate")
			}
			// The decided events must be applicable to the state that decided them.
			if err := o.ApplyAll(got...); err != nil {
				t.Fatalf("apply decided events: %v", err)
			}
		})
	}
}

func TestApplyBuildsState(t *testing.T) {
	o := order.New("o-1")
	if err := o.ApplyAll(placed(), confirmed(), shipped()); err != nil {
		t.Fatal(err)
	}
	if o.Status() != order.Shipped || o.Version() != 3 || o.Total() != 3700 || o.Currency() != "KRW" || len(o.Items()) != 2 {
		t.Fatalf("state = %s v%d total %d %s items %d", o.Status(), o.Version(), o.Total(), o.Currency(), len(o.Items()))
	}
	if c, tr := o.Shipment(); c != "CJ" || tr != "T1" {
		t.Fatalf("shipment = %s %s", c, tr)
	}
}

func TestApplyRejectsUnknownAndOutOfOrder(t *testing.T) {
	o := order.New("o-1")
	if err := o.Apply(struct{}{}); err == nil || !strings.Contains(err.Error(), "unknown event") {
		t.Fatalf("unknown event: err = %v", err)
	}
	if err := o.Apply(placed()); err != nil {
		t.Fatal(err)
	}
	if err := o.Apply(shipped()); err == nil {
		t.Fatal("OrderShipped after OrderPlaced applied without error")
	}
	if err := o.Apply(events.OrderConfirmed{}); err == nil {
		t.Fatal("a non-pointer event was applied")
	}
	if o.Version() != 1 || o.Status() != order.Placed {
		t.Fatalf("failed applies changed state: v%d %s", o.Version(), o.Status())
	}
}
