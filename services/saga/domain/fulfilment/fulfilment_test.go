package fulfilment_test

import (
	"encoding/json"
	"testing"
	"time"

	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	orderev "github.com/stratahq/strata/gen/avro/order"
	paymentev "github.com/stratahq/strata/gen/avro/payment"
	sagaev "github.com/stratahq/strata/gen/avro/saga"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

func TestDefinitionBuildsCommands(t *testing.T) {
	def := fulfilment.Definition(fulfilment.Timeouts{})
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(fulfilment.FromOrderPlaced(&orderev.OrderPlaced{OrderID: "o-1", CustomerID: "c-1", TotalAmount: 3000, Currency: "KRW",
		Items: []orderev.OrderItem{{ProductID: "p-1", Quantity: 2, UnitPrice: 1500}}}))
	call := saga.Call{SagaID: "o-1", CommandID: "cmd", Data: data, Reason: "boom"}
	want := map[string]string{
		"place_order/c": "shop.order.CancelOrder", "process_payment/a": "shop.payment.AuthorizePayment",
		"process_payment/c": "shop.payment.RefundPayment", "reserve_stock/a": "shop.inventory.ReserveStock",
		"reserve_stock/c": "shop.inventory.ReleaseStock", "confirm_order/a": "shop.order.ConfirmOrder",
	}
	got := map[string]string{}
	for _, s := range def.Steps {
		for k, b := range map[string]saga.Builder{"a": s.Action, "c": s.Compensation} {
			if b == nil {
				continue
			}
			c, err := b(call)
			if err != nil {
				t.Fatal(err)
			}
			got[s.Name+"/"+k] = c.Type
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s builds %q, want %q", k, got[k], v)
		}
	}
	c, _ := def.Steps[1].Action(call)
	if a := c.Value.(*paymentev.AuthorizePayment); a.PaymentID != fulfilment.PaymentID("o-1") || a.Amount != 3000 || a.CustomerID != "c-1" {
		t.Errorf("authorize %+v", a)
	}
	c, _ = def.Steps[0].Compensation(call)
	if r := c.Value.(*orderev.CancelOrder).Reason; r != "order fulfilment failed: boom" {
		t.Errorf("cancel reason %q", r)
	}
	cmds, err := def.OnOutcome(saga.Outcome{SagaID: "o-1", Status: saga.StatusParked, Data: data, Step: "process_payment", Reason: "refund failed", At: time.Unix(0, 0)})
	if err != nil || len(cmds) != 1 || cmds[0].Topic != fulfilment.TopicOutcomes {
		t.Fatalf("outcome %+v %v", cmds, err)
	}
	if p := cmds[0].Value.(*sagaev.FulfilmentParked); p.CompensationStep != "process_payment" || p.OrderID != "o-1" {
		t.Errorf("parked %+v", p)
	}
}

func TestReplyOf(t *testing.T) {
	tests := []struct {
		stream string
		ev     any
		ok     bool
		want   saga.Reply
	}{
		{"payment", &paymentev.PaymentAuthorized{OrderID: "o"}, true, saga.Reply{SagaID: "o", Step: "process_payment", Kind: saga.KindAction, Success: true, CommandID: "c"}},
		{"payment", &paymentev.PaymentFailed{OrderID: "o", Reason: "x"}, true, saga.Reply{SagaID: "o", Step: "process_payment", Kind: saga.KindAction, Reason: "payment failed: x", CommandID: "c"}},
		{"payment", &paymentev.PaymentRefundFailed{OrderID: "o", Reason: "x"}, true, saga.Reply{SagaID: "o", Step: "process_payment", Kind: saga.KindCompensation, Reason: "refund failed: x", CommandID: "c"}},
		{"inventory", &inventoryev.StockReserved{OrderID: "o"}, true, saga.Reply{SagaID: "o", Step: "reserve_stock", Kind: saga.KindAction, Success: true, CommandID: "c"}},
		{"stock", &inventoryev.StockReserved{OrderID: "o"}, false, saga.Reply{}},
		{"inventory", &inventoryev.StockReleased{OrderID: "o"}, true, saga.Reply{SagaID: "o", Step: "reserve_stock", Kind: saga.KindCompensation, Success: true, CommandID: "c"}},
		{"order", &orderev.OrderConfirmed{OrderID: "o"}, true, saga.Reply{SagaID: "o", Step: "confirm_order", Kind: saga.KindAction, Success: true, CommandID: "c"}},
		{"order", &orderev.OrderCancelled{OrderID: "o"}, true, saga.Reply{SagaID: "o", Step: "place_order", Kind: saga.KindCompensation, Success: true, CommandID: "c"}},
		{"order", &orderev.OrderShipped{OrderID: "o"}, false, saga.Reply{}},
	}
	for _, tc := range tests {
		r, ok, err := fulfilment.ReplyOf(tc.stream, tc.ev, "c")
		if err != nil || ok != tc.ok {
			t.Fatalf("%T from %s: ok %v err %v", tc.ev, tc.stream, ok, err)
		}
		if ok && (r.SagaID != tc.want.SagaID || r.Step != tc.want.Step || r.Kind != tc.want.Kind || r.Success != tc.want.Success || r.Reason != tc.want.Reason || r.CommandID != "c") {
			t.Errorf("%T: %+v, want %+v", tc.ev, r, tc.want)
		}
	}
	if _, _, err := fulfilment.ReplyOf("payment", struct{}{}, ""); err == nil {
		t.Error("unknown event accepted")
	}
}
