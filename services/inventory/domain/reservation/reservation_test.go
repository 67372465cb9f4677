package reservation_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/services/inventory/domain/reservation"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	items    = []reservation.Item{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 1}}
	evItems  = []events.StockItem{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 1}}
	reserved = &events.StockReserved{ReservationID: "r-1", OrderID: "o-1", Items: evItems, ReservedAt: now}
	failed   = &events.StockReservationFailed{ReservationID: "r-1", OrderID: "o-1", Reason: "out of stock", UnavailableProductIds: []string{"p-2"}, FailedAt: now}
	released = &events.StockReleased{ReservationID: "r-1", OrderID: "o-1", Items: evItems, ReleasedAt: now}
	voided   = &events.StockReleased{ReservationID: "r-1", OrderID: "o-1", Items: []events.StockItem{}, ReleasedAt: now}
)

func given(t *testing.T, evs ...any) *reservation.Reservation {
	t.Helper()
	r := reservation.New("r-1")
	for _, e := range evs {
		if err := r.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name   string
		given  []any
		decide func(r *reservation.Reservation) ([]any, error)
		want   []any
		err    error
	}{
		{"reserve", nil, func(r *reservation.Reservation) ([]any, error) { return r.DecideReserved("o-1", items, now) }, []any{reserved}, nil},
		{"reserve twice: nothing", []any{reserved}, func(r *reservation.Reservation) ([]any, error) { return r.DecideReserved("o-1", items, now) }, nil, nil},
		{"reserve after release: nothing", []any{voided}, func(r *reservation.Reservation) ([]any, error) { return r.DecideReserved("o-1", items, now) }, nil, nil},
		{"reserve no items", nil, func(r *reservation.Reservation) ([]any, error) { return r.DecideReserved("o-1", nil, now) }, nil, reservation.ErrInvalid},
		{"fail", nil, func(r *reservation.Reservation) ([]any, error) {
			return r.DecideFailed("o-1", "out of stock", []string{"p-2"}, now)
		}, []any{failed}, nil},
		{"release held items", []any{reserved}, func(r *reservation.Reservation) ([]any, error) { return r.DecideReleased("o-1", now) }, []any{released}, nil},
		{"release before reserve: void", nil, func(r *reservation.Reservation) ([]any, error) { return r.DecideReleased("o-1", now) }, []any{voided}, nil},
		{"release after failure: nothing held", []any{failed}, func(r *reservation.Reservation) ([]any, error) { return r.DecideReleased("o-1", now) }, []any{voided}, nil},
		{"release twice: nothing", []any{reserved, released}, func(r *reservation.Reservation) ([]any, error) { return r.DecideReleased("o-1", now) }, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.decide(given(t, tc.given...))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestApplyRejects(t *testing.T) {
	r := given(t, reserved)
	if err := r.Apply(failed); err == nil {
		t.Fatal("failure after reservation accepted")
	}
	if err := r.Apply(1); err == nil {
		t.Fatal("unknown event accepted")
	}
}
