package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/stratahq/strata/saga"
	ordercmd "github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

func (s *shop) waitStatus(ctx context.Context, id string, want saga.Status, timeout time.Duration) saga.Instance {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		inst, _, err := saga.Get(ctx, s.pool, id)
		if err == nil && inst.Status == want {
			return inst
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("saga %s: %s (%s) after %s, want %s (err %v)", id, inst.Status, inst.Reason, timeout, want, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Customers act on their orders through the order API while sagas run (the
// demo does): a cancelled order keeps no money or stock whether the saga was
// running or had completed, and an order confirmed through the API completes
// its saga without a second confirmation.
func TestFulfilmentOrderChangedThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)

	cancelledEarly := s.place(ctx, "cmd-cancel-early", "ivy", items("p-1")...)
	if _, err := s.orders.CancelOrder(ctx, ordercmd.Meta{CommandID: "api-cancel-1"}, cancelledEarly, "customer changed their mind"); err != nil {
		t.Fatal(err)
	}
	confirmedByAPI := s.place(ctx, "cmd-confirm-api", "jay", items("p-2")...)
	if _, err := s.orders.ConfirmOrder(ctx, ordercmd.Meta{CommandID: "api-confirm-1"}, confirmedByAPI, "pay-x", "res-x"); err != nil {
		t.Fatal(err)
	}
	cancelledLate := s.place(ctx, "cmd-cancel-late", "kim", items("p-1", "p-2")...)
	s.waitStatus(ctx, cancelledLate, saga.StatusCompleted, 20*time.Second)
	if st := s.check(ctx, cancelledLate); st != order.Confirmed {
		t.Fatalf("order %s", st)
	}
	if _, err := s.orders.CancelOrder(ctx, ordercmd.Meta{CommandID: "api-cancel-2"}, cancelledLate, "customer changed their mind"); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{cancelledEarly, cancelledLate} {
		inst := s.waitStatus(ctx, id, saga.StatusCompensated, 20*time.Second)
		if inst.FailedStep != "place_order" {
			t.Errorf("saga %s failed step %q (%s)", id, inst.FailedStep, inst.Reason)
		}
		if st := s.check(ctx, id); st != order.Cancelled {
			t.Errorf("order %s: %s", id, st)
		}
		_, steps, err := saga.Get(ctx, s.pool, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			if st.CommandType == "shop.order.CancelOrder" {
				t.Errorf("saga %s cancelled an order its customer had cancelled", id)
			}
		}
	}
	s.waitStatus(ctx, confirmedByAPI, saga.StatusCompleted, 20*time.Second)
	if st := s.check(ctx, confirmedByAPI); st != order.Confirmed {
		t.Fatalf("order %s", st)
	}
	if n := s.count("shop.order.ConfirmOrder"); n != 1 { // only cancelledLate's
		t.Errorf("%d ConfirmOrder commands sent, want 1", n)
	}
}

// The order is confirmed through the API while the saga's own ConfirmOrder is
// in flight (and refused: already confirmed): the OrderConfirmed caused by the
// API's command answers the saga's step.
func TestFulfilmentConfirmedThroughTheAPIMidStep(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.setDrop("shop.order.ConfirmOrder", true)
	id := s.place(ctx, "cmd-race", "lee", items("p-1")...)
	deadline := time.Now().Add(10 * time.Second)
	for s.count("dropped:shop.order.ConfirmOrder") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the saga never asked to confirm")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.orders.ConfirmOrder(ctx, ordercmd.Meta{CommandID: "api-confirm-race"}, id, "pay-x", "res-x"); err != nil {
		t.Fatal(err)
	}
	inst := s.waitStatus(ctx, id, saga.StatusCompleted, 4*time.Second) // well before the 5s step timeout
	if inst.Reason != "" {
		t.Errorf("reason %q", inst.Reason)
	}
	if st := s.check(ctx, id); st != order.Confirmed {
		t.Fatalf("order %s", st)
	}
}
