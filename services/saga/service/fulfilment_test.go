package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratahq/strata/saga"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	"github.com/stratahq/strata/services/order/domain/order"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// shortTimeouts keep tests that wait for a timeout short while leaving room
// for a loaded machine (2 cores shared, -race).
var shortTimeouts = fulfilment.Timeouts{Payment: 5 * time.Second, Inventory: 5 * time.Second, Order: 5 * time.Second, Compensation: 5 * time.Second}

func items(ids ...string) []order.Item {
	out := make([]order.Item, len(ids))
	for i, id := range ids {
		out[i] = order.Item{ProductID: id, Quantity: 2, UnitPrice: 1500}
	}
	return out
}

func TestFulfilmentHappyPath(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	id := s.place(ctx, "cmd-1", "alice", items("p-1", "p-2")...)
	got := s.waitTerminal(ctx, 20*time.Second, id)
	if got[id].Status != saga.StatusCompleted {
		t.Fatalf("saga %s: %s (%s)", id, got[id].Status, got[id].Reason)
	}
	if st := s.check(ctx, id); st != order.Confirmed {
		t.Fatalf("order %s", st)
	}
	_, steps, err := saga.Get(ctx, s.pool, id)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, st := range steps {
		log = append(log, st.Step+":"+string(st.Status))
	}
	want := []string{"place_order:SUCCEEDED", "process_payment:SUCCEEDED", "reserve_stock:SUCCEEDED", "confirm_order:SUCCEEDED"}
	if !slices.Equal(log, want) {
		t.Fatalf("step log %v, want %v", log, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.count("shop.saga.FulfilmentCompleted") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.count("shop.saga.FulfilmentCompleted"); n != 1 {
		t.Fatalf("%d FulfilmentCompleted sent, want 1", n)
	}
}

// A failure at each step compensates exactly the steps before it, in
// reverse, each once; the order ends cancelled with no money or stock held.
func TestFulfilmentFailureAtEachStep(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.gateway.SetFaults(payadapters.Faults{DeclineCustomers: []string{"declined"}})
	s.invFaults.Set(invadapters.Config{OutOfStockProducts: []string{"p-gone"}})
	declined := s.place(ctx, "cmd-declined", "declined", items("p-1")...)
	noStock := s.place(ctx, "cmd-nostock", "bob", items("p-1", "p-gone")...)
	// The order service refuses to confirm an order its customer cancelled:
	// the confirm step fails (here: is never answered) and compensates.
	s.setDrop("shop.order.ConfirmOrder", true)
	noConfirm := s.place(ctx, "cmd-noconfirm", "carol", items("p-2")...)
	got := s.waitTerminal(ctx, 30*time.Second, declined, noStock, noConfirm)
	want := map[string][]string{
		declined:  {"shop.order.CancelOrder:SUCCEEDED"},
		noStock:   {"shop.payment.RefundPayment:SUCCEEDED", "shop.order.CancelOrder:SUCCEEDED"},
		noConfirm: {"shop.inventory.ReleaseStock:SUCCEEDED", "shop.payment.RefundPayment:SUCCEEDED", "shop.order.CancelOrder:SUCCEEDED"},
	}
	for id, comps := range want {
		if got[id].Status != saga.StatusCompensated {
			t.Errorf("saga %s: %s (%s)", id, got[id].Status, got[id].Reason)
		}
		_, steps, err := saga.Get(ctx, s.pool, id)
		if err != nil {
			t.Fatal(err)
		}
		if c := compensations(steps); !slices.Equal(c, comps) {
			t.Errorf("saga %s compensations %v, want %v", id, c, comps)
		}
		if st := s.check(ctx, id); st != order.Cancelled {
			t.Errorf("order %s: %s", id, st)
		}
	}
	if s.count("shop.payment.RefundPayment") != 2 || s.count("shop.inventory.ReleaseStock") != 1 || s.count("shop.order.CancelOrder") != 3 {
		t.Errorf("refunds %d releases %d cancels %d", s.count("shop.payment.RefundPayment"), s.count("shop.inventory.ReleaseStock"), s.count("shop.order.CancelOrder"))
	}
}

// A participant that answers too late times the step out; the timed-out step
// is compensated too, and its late effect is undone.
func TestFulfilmentTimeoutAtEachStep(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, fulfilment.Timeouts{Payment: 3 * time.Second, Inventory: 3 * time.Second, Order: 3 * time.Second, Compensation: 10 * time.Second})
	s.gateway.SetFaults(payadapters.Faults{ReplyDelay: 6 * time.Second, SlowCustomers: []string{"slow-pay"}})
	slowPay := s.place(ctx, "cmd-slowpay", "slow-pay", items("p-1")...)
	got := s.waitTerminal(ctx, 30*time.Second, slowPay)
	s.gateway.SetFaults(payadapters.Faults{})

	s.invFaults.Set(invadapters.Config{ReplyDelay: 6 * time.Second})
	slowStock := s.place(ctx, "cmd-slowstock", "dave", items("p-1")...)
	for k, v := range s.waitTerminal(ctx, 30*time.Second, slowStock) {
		got[k] = v
	}
	s.invFaults.Set(invadapters.Config{})

	s.setDrop("shop.order.ConfirmOrder", true)
	slowOrder := s.place(ctx, "cmd-sloworder", "erin", items("p-1")...)
	for k, v := range s.waitTerminal(ctx, 30*time.Second, slowOrder) {
		got[k] = v
	}
	want := map[string][]string{
		slowPay:   {"shop.payment.RefundPayment:SUCCEEDED", "shop.order.CancelOrder:SUCCEEDED"},
		slowStock: {"shop.inventory.ReleaseStock:SUCCEEDED", "shop.payment.RefundPayment:SUCCEEDED", "shop.order.CancelOrder:SUCCEEDED"},
		slowOrder: {"shop.inventory.ReleaseStock:SUCCEEDED", "shop.payment.RefundPayment:SUCCEEDED", "shop.order.CancelOrder:SUCCEEDED"},
	}
	for id, comps := range want {
		inst, steps, err := saga.Get(ctx, s.pool, id)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Status != saga.StatusCompensated || !strings.Contains(inst.Reason, "no reply") {
			t.Errorf("saga %s: %s (%s)", id, inst.Status, inst.Reason)
		}
		if c := compensations(steps); !slices.Equal(c, comps) {
			t.Errorf("saga %s compensations %v, want %v", id, c, comps)
		}
		if st := s.check(ctx, id); st != order.Cancelled {
			t.Errorf("order %s: %s", id, st)
		}
	}
	// The late authorisation was held and then refunded, in that order.
	p, err := s.payments.Load(ctx, fulfilment.PaymentID(slowPay))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status().String() != "REFUNDED" || p.Refunded() == 0 {
		t.Errorf("late payment: %s, refunded %d", p.Status(), p.Refunded())
	}
}

// The orchestrator dies with a saga in flight; a new one finishes it from
// PostgreSQL, and the payment is authorised once.
func TestFulfilmentOrchestratorRestart(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.setDrop("shop.inventory.ReserveStock", true) // hold the saga at the reservation
	id := s.place(ctx, "cmd-restart", "frank", items("p-1")...)
	deadline := time.Now().Add(10 * time.Second)
	for s.count("dropped:shop.inventory.ReserveStock") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reservation command was never sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stopOrchestrator() // killed while waiting for a reply that never comes
	s.setDrop("shop.inventory.ReserveStock", false)
	// A new orchestrator: the persisted deadline fires and compensates; a
	// second saga shows that normal service resumes.
	s.startOrchestrator()
	id2 := s.place(ctx, "cmd-restart-2", "frank", items("p-1")...)
	got := s.waitTerminal(ctx, 30*time.Second, id, id2)
	if got[id].Status != saga.StatusCompensated || got[id2].Status != saga.StatusCompleted {
		t.Fatalf("after restart: %s (%s), %s (%s)", got[id].Status, got[id].Reason, got[id2].Status, got[id2].Reason)
	}
	recs, err := s.store.ReadStream(ctx, payadapters.StreamID(fulfilment.PaymentID(id)), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	if !slices.Equal(types, []string{"shop.payment.PaymentAuthorized", "shop.payment.PaymentRefunded"}) {
		t.Fatalf("payment stream %v: want one authorisation and one refund", types)
	}
	s.check(ctx, id)
	s.check(ctx, id2)
}

// The orchestrator restarts between sending a command and its reply: the
// reply is applied by the new one and the saga completes with one payment.
func TestFulfilmentRestartBeforeReply(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, fulfilment.Timeouts{Payment: 20 * time.Second, Inventory: 20 * time.Second, Order: 20 * time.Second})
	s.gateway.SetFaults(payadapters.Faults{ReplyDelay: time.Second})
	id := s.place(ctx, "cmd-midflight", "gina", items("p-1")...)
	time.Sleep(300 * time.Millisecond) // AuthorizePayment is being handled
	s.stopOrchestrator()
	s.gateway.SetFaults(payadapters.Faults{})
	s.startOrchestrator()
	got := s.waitTerminal(ctx, 30*time.Second, id)
	if got[id].Status != saga.StatusCompleted {
		t.Fatalf("saga %s: %s (%s)", id, got[id].Status, got[id].Reason)
	}
	recs, err := s.store.ReadStream(ctx, payadapters.StreamID(fulfilment.PaymentID(id)), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Type != "shop.payment.PaymentAuthorized" {
		t.Fatalf("payment stream has %d events (%v), want one authorisation", len(recs), recs)
	}
	s.check(ctx, id)
}

// 1,000 concurrent sagas with declined cards and missing stock mixed in all
// end terminal; no cancelled order keeps money or stock, every confirmed one does.
func TestFulfilmentThousandConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	n := 1000
	ctx := context.Background()
	s := newShop(t, fulfilment.Timeouts{Payment: 60 * time.Second, Inventory: 60 * time.Second, Order: 60 * time.Second, Compensation: 60 * time.Second})
	s.gateway.SetFaults(payadapters.Faults{DeclineCustomers: []string{"declined"}})
	s.invFaults.Set(invadapters.Config{OutOfStockProducts: []string{"p-gone"}})
	rng := rand.New(rand.NewPCG(1, 2))
	type spec struct {
		customer string
		items    []order.Item
	}
	specs := make([]spec, n)
	for i := range specs {
		customer, products := fmt.Sprintf("c-%d", i%50), []string{fmt.Sprintf("p-%d", rng.IntN(20)), fmt.Sprintf("p-%d", 20+rng.IntN(20))}
		switch rng.IntN(10) {
		case 0:
			customer = "declined"
		case 1:
			products = append(products, "p-gone")
		}
		specs[i] = spec{customer, items(products...)}
	}
	ids := make([]string, n)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				ids[i] = s.place(ctx, fmt.Sprintf("cmd-%d", i), specs[i].customer, specs[i].items...)
			}
		}()
	}
	wg.Wait()
	got := s.waitTerminal(ctx, 4*time.Minute, ids...)
	t.Logf("%d sagas terminal in %s", n, time.Since(start).Round(time.Millisecond))
	byStatus := map[saga.Status]int{}
	confirmed, cancelled := 0, 0
	for i, id := range ids {
		byStatus[got[id].Status]++
		switch s.check(ctx, id) {
		case order.Confirmed:
			confirmed++
			if specs[i].customer == "declined" || slices.ContainsFunc(specs[i].items, func(it order.Item) bool { return it.ProductID == "p-gone" }) {
				t.Errorf("order %s should have failed", id)
			}
		case order.Cancelled:
			cancelled++
		}
	}
	t.Logf("sagas %v; orders confirmed %d, cancelled %d", byStatus, confirmed, cancelled)
	if byStatus[saga.StatusCompleted]+byStatus[saga.StatusCompensated] != n || byStatus[saga.StatusCompleted] != confirmed {
		t.Fatalf("sagas %v, confirmed %d", byStatus, confirmed)
	}
	// Stock: what is reserved is exactly what confirmed orders hold.
	want := map[string]int{}
	for i, id := range ids {
		if got[id].Status == saga.StatusCompleted {
			for _, it := range specs[i].items {
				want[it.ProductID] += it.Quantity
			}
		}
	}
	for p := range 40 {
		pid := fmt.Sprintf("p-%d", p)
		st, err := s.stocks.Load(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.Reserved() != want[pid] {
			t.Errorf("product %s: %d reserved, confirmed orders hold %d", pid, st.Reserved(), want[pid])
		}
	}
	if s.count("shop.payment.AuthorizePayment") != int64(n) {
		t.Errorf("%d authorisations for %d sagas", s.count("shop.payment.AuthorizePayment"), n)
	}
}
