package stock_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/services/inventory/domain/stock"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func given(t *testing.T, evs ...any) *stock.Stock {
	t.Helper()
	s := stock.New("p-1")
	for _, e := range evs {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func item(q int) []events.StockItem { return []events.StockItem{{ProductID: "p-1", Quantity: q}} }

var (
	received = &events.StockReceived{ProductID: "p-1", Quantity: 10, ReceivedAt: now}
	r1       = &events.StockReserved{ReservationID: "r-1", OrderID: "o-1", Items: item(4), ReservedAt: now}
	r2       = &events.StockReserved{ReservationID: "r-2", OrderID: "o-2", Items: item(5), ReservedAt: now}
	rel1     = &events.StockReleased{ReservationID: "r-1", OrderID: "o-1", Items: item(4), ReleasedAt: now}
)

func TestReserve(t *testing.T) {
	tests := []struct {
		name  string
		given []any
		res   string
		qty   int
		want  []any
		err   error
	}{
		{"enough", []any{received}, "r-1", 4, []any{r1}, nil},
		{"exactly what is left", []any{received, r2}, "r-1", 5, []any{&events.StockReserved{ReservationID: "r-1", OrderID: "o-1", Items: item(5), ReservedAt: now}}, nil},
		{"not enough", []any{received, r2}, "r-1", 6, nil, stock.ErrInsufficient},
		{"no stock at all", nil, "r-1", 1, nil, stock.ErrInsufficient},
		{"same reservation again: nothing", []any{received, r1}, "r-1", 4, nil, nil},
		{"released reservation: refused", []any{received, r1, rel1}, "r-1", 4, nil, stock.ErrReleased},
		{"zero", []any{received}, "r-1", 0, nil, stock.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := given(t, tc.given...).DecideReserve(tc.res, "o-1", tc.qty, now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestReleaseAndQuantities(t *testing.T) {
	s := given(t, received, r1, r2)
	if s.OnHand() != 10 || s.Reserved() != 9 || s.Available() != 1 {
		t.Fatalf("on hand %d reserved %d available %d", s.OnHand(), s.Reserved(), s.Available())
	}
	got, err := s.DecideRelease("r-1", "o-1", now)
	if err != nil || !reflect.DeepEqual(got, []any{rel1}) {
		t.Fatalf("release: %#v %v", got, err)
	}
	if err := s.Apply(got[0]); err != nil {
		t.Fatal(err)
	}
	if s.Reserved() != 5 || s.Available() != 5 {
		t.Fatalf("after release reserved %d available %d", s.Reserved(), s.Available())
	}
	if got, _ := s.DecideRelease("r-1", "o-1", now); got != nil {
		t.Fatalf("second release decided %#v", got)
	}
	if got, _ := s.DecideRelease("r-9", "o-9", now); got != nil {
		t.Fatalf("release of a reservation that holds nothing decided %#v", got)
	}
	if err := s.Apply(&events.StockReserved{ReservationID: "r-3", Items: []events.StockItem{{ProductID: "p-2", Quantity: 1}}}); err == nil {
		t.Fatal("event for another product accepted")
	}
	if err := s.Apply("nope"); err == nil {
		t.Fatal("unknown event accepted")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := given(t, received, r1, r2, rel1)
	back := stock.FromSnapshot(s.Snapshot())
	if !reflect.DeepEqual(back.Snapshot(), s.Snapshot()) || back.Available() != s.Available() || back.Version() != 4 {
		t.Fatalf("%+v != %+v", back.Snapshot(), s.Snapshot())
	}
	if _, err := back.DecideReserve("r-1", "o-1", 1, now); !errors.Is(err, stock.ErrReleased) {
		t.Fatalf("released reservation forgotten by the snapshot: %v", err)
	}
	if back.HeldBy("r-2") != 5 {
		t.Fatalf("held by r-2: %d", back.HeldBy("r-2"))
	}
}
