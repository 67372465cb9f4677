package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	orderev "github.com/stratahq/strata/gen/avro/order"
	paymentev "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/saga/answer"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	paycmd "github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/domain/payment"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// repliesTo returns the saga replies the events caused by commandID make.
func (s *shop) repliesTo(ctx context.Context, commandID string) []saga.Reply {
	s.t.Helper()
	rows, err := s.pool.Query(ctx, `SELECT stream_type, event_type, payload FROM events WHERE causation_id = $1 ORDER BY position`, commandID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []saga.Reply
	for rows.Next() {
		var st, typ string
		var payload []byte
		if err := rows.Scan(&st, &typ, &payload); err != nil {
			s.t.Fatal(err)
		}
		v, err := s.types.Decode(typ, payload)
		if err != nil {
			s.t.Fatal(err)
		}
		r, ok, err := fulfilment.ReplyOf(st, v, commandID)
		if err != nil {
			s.t.Fatal(err)
		}
		if ok {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// Every participant answers every command, a repeated one (new command id,
// state already reflects it) included, with the outcome it recorded: a saga
// that asks again (after a timeout, or an operator's retry) gets its answer.
func TestParticipantsAnswerRepeatedCommands(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.invFaults.Set(invadapters.Config{OutOfStockProducts: []string{"p-gone"}})
	okID := s.place(ctx, "cmd-answers-ok", "hana", items("p-1")...)
	failID := s.place(ctx, "cmd-answers-fail", "hana", items("p-1", "p-gone")...)
	got := s.waitTerminal(ctx, 30*time.Second, okID, failID)
	if got[okID].Status != saga.StatusCompleted || got[failID].Status != saga.StatusCompensated {
		t.Fatalf("sagas %s and %s, want COMPLETED and COMPENSATED", got[okID].Status, got[failID].Status)
	}
	s.stopOrchestrator()
	auth := func(id string) any {
		return &paymentev.AuthorizePayment{PaymentID: fulfilment.PaymentID(id), OrderID: id, CustomerID: "hana", Amount: 3000, Currency: "KRW"}
	}
	refund := func(id string) any {
		return &paymentev.RefundPayment{PaymentID: fulfilment.PaymentID(id), OrderID: id, Amount: 3000, Currency: "KRW", Reason: "again"}
	}
	reserve := func(id string, products ...string) any {
		var its []inventoryev.StockItem
		for _, p := range products {
			its = append(its, inventoryev.StockItem{ProductID: p, Quantity: 2})
		}
		return &inventoryev.ReserveStock{ReservationID: fulfilment.ReservationID(id), OrderID: id, Items: its}
	}
	release := func(id string) any {
		return &inventoryev.ReleaseStock{ReservationID: fulfilment.ReservationID(id), OrderID: id, Reason: "again"}
	}
	cases := []struct {
		name    string
		cmd     any
		typ     string
		step    string
		kind    saga.Kind
		success bool
	}{
		{"authorise an authorised payment", auth(okID), "shop.payment.AuthorizePayment", fulfilment.StepProcessPayment, saga.KindAction, true},
		{"reserve a reservation held", reserve(okID, "p-1"), "shop.inventory.ReserveStock", fulfilment.StepReserveStock, saga.KindAction, true},
		{"confirm a confirmed order", &orderev.ConfirmOrder{OrderID: okID, PaymentID: fulfilment.PaymentID(okID), ReservationID: fulfilment.ReservationID(okID)},
			"shop.order.ConfirmOrder", fulfilment.StepConfirmOrder, saga.KindAction, true},
		{"refund a refunded payment", refund(failID), "shop.payment.RefundPayment", fulfilment.StepProcessPayment, saga.KindCompensation, true},
		{"reserve a failed reservation", reserve(failID, "p-1", "p-gone"), "shop.inventory.ReserveStock", fulfilment.StepReserveStock, saga.KindAction, false},
		{"release a failed reservation (voids it)", release(failID), "shop.inventory.ReleaseStock", fulfilment.StepReserveStock, saga.KindCompensation, true},
		{"release a released reservation", release(failID), "shop.inventory.ReleaseStock", fulfilment.StepReserveStock, saga.KindCompensation, true},
		{"cancel a cancelled order", &orderev.CancelOrder{OrderID: failID, Reason: "again"}, "shop.order.CancelOrder", fulfilment.StepPlaceOrder, saga.KindCompensation, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := saga.CommandID("answers-test", 100+i)
			for range 2 { // a redelivery of the same command changes nothing either
				if err := s.handle(ctx, saga.Message{ID: id, Key: "answers-test", Type: tc.typ}, tc.cmd); err != nil {
					t.Fatal(err)
				}
			}
			replies := s.repliesTo(ctx, id)
			if len(replies) == 0 {
				t.Fatal("no answer to the command")
			}
			for _, r := range replies { // a redelivery may answer again, the same
				if r.Step != tc.step || r.Kind != tc.kind || r.Success != tc.success {
					t.Fatalf("answer %+v, want %s %s success=%v", r, tc.step, tc.kind, tc.success)
				}
			}
		})
	}
}

// countingGateway counts the card gateway's calls by kind and payment.
type countingGateway struct {
	inner paycmd.Gateway
	mu    sync.Mutex
	calls map[string]int // "authorize:<payment>" / "refund:<payment>"
}

func (g *countingGateway) add(k string) {
	g.mu.Lock()
	g.calls[k]++
	g.mu.Unlock()
}

func (g *countingGateway) n(k string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[k]
}

func (g *countingGateway) Authorize(ctx context.Context, paymentID, customerID string, amount int64, currency string) (payment.GatewayAnswer, error) {
	g.add("authorize:" + paymentID)
	return g.inner.Authorize(ctx, paymentID, customerID, amount, currency)
}

func (g *countingGateway) Void(ctx context.Context, key string) error {
	g.add("void:" + key)
	return g.inner.Void(ctx, key)
}

func (g *countingGateway) Refund(ctx context.Context, paymentID, orderID string) (payment.GatewayAnswer, error) {
	g.add("refund:" + paymentID)
	return g.inner.Refund(ctx, paymentID, orderID)
}

// Payment decides from its state before it calls the card gateway: a
// redelivered or repeated authorisation places no second hold, and one that
// arrives after the payment was voided places none.
func TestPaymentGatewayCalledOncePerPayment(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.stopOrchestrator()
	gw := &countingGateway{inner: payadapters.NewSimulatedGateway(payadapters.Faults{}), calls: map[string]int{}}
	h := paycmd.New(s.payments, gw, answer.New(s.store, s.types), time.Now, nil)
	authorize := func(pay, cmd string) {
		t.Helper()
		c := &paymentev.AuthorizePayment{PaymentID: pay, OrderID: "o-" + pay, CustomerID: "hana", Amount: 100, Currency: "KRW"}
		if err := h.AuthorizePayment(ctx, paycmd.Meta{CommandID: cmd}, c); err != nil {
			t.Fatal(err)
		}
	}
	refund := func(pay, cmd string) {
		t.Helper()
		c := &paymentev.RefundPayment{PaymentID: pay, OrderID: "o-" + pay, Amount: 100, Currency: "KRW"}
		if err := h.RefundPayment(ctx, paycmd.Meta{CommandID: cmd}, c); err != nil {
			t.Fatal(err)
		}
	}
	authorize("p-1", "a-1")
	authorize("p-1", "a-1") // redelivered
	authorize("p-1", "a-2") // asked again
	if n := gw.n("authorize:p-1"); n != 1 {
		t.Errorf("p-1: %d gateway authorisations, want 1", n)
	}
	refund("p-2", "r-2") // the refund overtook the authorisation: void
	authorize("p-2", "a-3")
	if n := gw.n("authorize:p-2"); n != 0 {
		t.Errorf("p-2 (void): %d gateway authorisations, want 0", n)
	}
	refund("p-1", "r-1")
	refund("p-1", "r-1b") // asked again
	if n := gw.n("refund:p-1"); n != 1 {
		t.Errorf("p-1: %d gateway refunds, want 1", n)
	}
	for _, p := range []string{"p-1", "p-2"} {
		st, err := s.payments.Load(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Held() != 0 {
			t.Errorf("%s holds %d", p, st.Held())
		}
	}
}

// A compensation that answers only after the saga gave up on it (timed out
// three times and parked) still finishes the saga: the late success counts,
// and an operator's retry gets an answer from the participant.
func TestFulfilmentSlowRefundThenRetry(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, fulfilment.Timeouts{Payment: 5 * time.Second, Inventory: 5 * time.Second, Order: 5 * time.Second, Compensation: 500 * time.Millisecond})
	s.invFaults.Set(invadapters.Config{OutOfStockProducts: []string{"p-gone"}})
	s.setHold("shop.payment.RefundPayment", true)
	id := s.place(ctx, "cmd-slow-refund", "hana", items("p-1", "p-gone")...)
	got := s.waitTerminal(ctx, 30*time.Second, id)
	if got[id].Status != saga.StatusParked {
		t.Fatalf("saga %s: %s (%s), want PARKED", id, got[id].Status, got[id].Reason)
	}
	s.releaseHeld(ctx) // the payment service catches up: the first refund succeeds, the others repeat it
	deadline := time.Now().Add(20 * time.Second)
	retried := false
	for {
		inst, _, err := saga.Get(ctx, s.pool, id)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Status == saga.StatusCompensated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saga %s: %s (%s), want COMPENSATED", id, inst.Status, inst.Reason)
		}
		if inst.Status == saga.StatusParked && !retried && time.Since(deadline.Add(-20*time.Second)) > 2*time.Second {
			if code, out := strata(t, "saga", "retry", id, "--database-url", s.url); code != 0 {
				t.Fatalf("saga retry: exit %d\n%s", code, out)
			}
			retried = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.check(ctx, id); fmt.Sprint(st) != "CANCELLED" {
		t.Fatalf("order %s", st)
	}
}
