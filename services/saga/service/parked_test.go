package service_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratahq/strata/saga"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	"github.com/stratahq/strata/services/order/domain/order"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
	"github.com/stratahq/strata/tools/strata/cli"
)

func strata(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String() + errb.String()
}

// A refund that keeps failing parks the saga; `strata saga list --stuck`
// shows it, `strata saga show` tells why, and once the payment provider works
// again `strata saga retry` completes the compensation.
func TestFulfilmentParkedThenRetry(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, shortTimeouts)
	s.gateway.SetFaults(payadapters.Faults{FailRefunds: true})
	s.invFaults.Set(invadapters.Config{OutOfStockProducts: []string{"p-gone"}})
	id := s.place(ctx, "cmd-parked", "hana", items("p-1", "p-gone")...)
	got := s.waitTerminal(ctx, 30*time.Second, id)
	if got[id].Status != saga.StatusParked {
		t.Fatalf("saga %s: %s (%s), want PARKED", id, got[id].Status, got[id].Reason)
	}
	if n := s.orch.eng.Metrics().Parked.WithLabelValues(fulfilment.SagaType); n == nil {
		t.Fatal("no parked counter")
	}
	code, out := strata(t, "saga", "list", "--stuck", "--database-url", s.url)
	if code != cli.ExitFail || !strings.Contains(out, id) || !strings.Contains(out, "PARKED") {
		t.Fatalf("saga list --stuck: exit %d\n%s", code, out)
	}
	code, out = strata(t, "saga", "show", id, "--database-url", s.url)
	if code != cli.ExitOK || strings.Count(out, "shop.payment.RefundPayment") != 3 || !strings.Contains(out, "refund failed") {
		t.Fatalf("saga show: exit %d\n%s", code, out)
	}
	t.Logf("strata saga show %s:\n%s", id, out)
	if code, out := strata(t, "saga", "retry", "no-such-saga", "--database-url", s.url); code != cli.ExitFail {
		t.Fatalf("retry of an unknown saga: exit %d\n%s", code, out)
	}
	s.gateway.SetFaults(payadapters.Faults{}) // the provider is fixed
	if code, out := strata(t, "saga", "retry", id, "--database-url", s.url); code != cli.ExitOK {
		t.Fatalf("saga retry: exit %d\n%s", code, out)
	}
	got = s.waitTerminal(ctx, 30*time.Second, id)
	if got[id].Status != saga.StatusCompensated {
		// waitTerminal counts PARKED as terminal: the retry must move it on.
		deadline := time.Now().Add(20 * time.Second)
		for got[id].Status == saga.StatusParked || got[id].Status == saga.StatusCompensating {
			if time.Now().After(deadline) {
				t.Fatalf("after retry: %s (%s)", got[id].Status, got[id].Reason)
			}
			time.Sleep(50 * time.Millisecond)
			inst, _, err := saga.Get(ctx, s.pool, id)
			if err != nil {
				t.Fatal(err)
			}
			got[id] = inst
		}
	}
	if got[id].Status != saga.StatusCompensated {
		t.Fatalf("after retry: %s (%s)", got[id].Status, got[id].Reason)
	}
	if st := s.check(ctx, id); st != order.Cancelled {
		t.Fatalf("order %s", st)
	}
	recs, err := s.store.ReadStream(ctx, payadapters.StreamID(fulfilment.PaymentID(id)), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		types = append(types, strings.TrimPrefix(r.Type, "shop.payment."))
	}
	want := []string{"PaymentAuthorized", "PaymentRefundFailed", "PaymentRefundFailed", "PaymentRefundFailed", "PaymentRefunded"}
	if !slices.Equal(types, want) {
		t.Fatalf("payment stream %v, want %v", types, want)
	}
	if code, out := strata(t, "saga", "list", "--stuck", "--database-url", s.url); code != cli.ExitOK || strings.Contains(out, id) {
		t.Fatalf("still stuck after retry: exit %d\n%s", code, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.count("shop.saga.FulfilmentFailed") != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if p, f := s.count("shop.saga.FulfilmentParked"), s.count("shop.saga.FulfilmentFailed"); p != 1 || f != 1 {
		t.Fatalf("outcome events: %d parked, %d failed; want 1 each", p, f)
	}
}
