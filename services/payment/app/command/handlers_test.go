package command_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

// memPayments keeps each payment's events; a command id appends once.
type memPayments struct {
	streams map[string][]any
	seen    map[string]bool
}

func (m *memPayments) Load(_ context.Context, id string) (*payment.Payment, error) {
	p := payment.New(id)
	for _, e := range m.streams[id] {
		if err := p.Apply(e); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (m *memPayments) Execute(_ context.Context, id string, meta command.Meta, decide func(*payment.Payment) ([]any, error)) error {
	p := payment.New(id)
	for _, e := range m.streams[id] {
		if err := p.Apply(e); err != nil {
			return err
		}
	}
	evs, err := decide(p)
	if err != nil || len(evs) == 0 || m.seen[meta.CommandID+id] {
		return err
	}
	m.seen[meta.CommandID+id] = true
	m.streams[id] = append(m.streams[id], evs...)
	return nil
}

func types(evs []any) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%T ", e)
	}
	return s
}

func TestHandlers(t *testing.T) {
	ctx := context.Background()
	m := &memPayments{streams: map[string][]any{}, seen: map[string]bool{}}
	gw := adapters.NewSimulatedGateway(adapters.Faults{DeclineCustomers: []string{"bad"}, FailRefundOrders: []string{"o-3"}})
	h := command.New(m, gw, nil, func() time.Time { return time.Unix(0, 0) }, gw.Delay)
	auth := func(id, order, customer string) {
		t.Helper()
		c := &events.AuthorizePayment{PaymentID: id, OrderID: order, CustomerID: customer, Amount: 100, Currency: "KRW"}
		for range 2 { // a redelivered command changes nothing
			if err := h.AuthorizePayment(ctx, command.Meta{CommandID: "a-" + id}, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	refund := func(id, order, cmd string) {
		t.Helper()
		if err := h.RefundPayment(ctx, command.Meta{CommandID: cmd}, &events.RefundPayment{PaymentID: id, OrderID: order, Amount: 100, Currency: "KRW"}); err != nil {
			t.Fatal(err)
		}
	}
	auth("p1", "o-1", "good")
	auth("p2", "o-2", "bad")
	auth("p3", "o-3", "good")
	refund("p1", "o-1", "r1")
	refund("p1", "o-1", "r1-retry")
	refund("p3", "o-3", "r3")
	gw.SetFaults(adapters.Faults{}) // the gateway works again
	refund("p3", "o-3", "r3-retry")
	refund("p4", "o-4", "r4") // overtakes its authorisation
	auth("p4", "o-4", "good")
	want := map[string]string{
		"p1": "*payment.PaymentAuthorized *payment.PaymentRefunded ",
		"p2": "*payment.PaymentFailed ",
		"p3": "*payment.PaymentAuthorized *payment.PaymentRefundFailed *payment.PaymentRefunded ",
		"p4": "*payment.PaymentRefunded ",
	}
	for id, w := range want {
		if got := types(m.streams[id]); got != w {
			t.Errorf("%s: %s, want %s", id, got, w)
		}
	}
}

func TestReplyDelay(t *testing.T) {
	m := &memPayments{streams: map[string][]any{}, seen: map[string]bool{}}
	gw := adapters.NewSimulatedGateway(adapters.Faults{ReplyDelay: time.Hour, SlowCustomers: []string{"slow"}})
	h := command.New(m, gw, nil, time.Now, gw.Delay)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.AuthorizePayment(ctx, command.Meta{CommandID: "x"}, &events.AuthorizePayment{PaymentID: "p", OrderID: "o", CustomerID: "slow", Amount: 1, Currency: "KRW"})
	if err == nil || len(m.streams["p"]) != 0 {
		t.Fatalf("slow customer answered at once: %v", err)
	}
	if err := h.AuthorizePayment(context.Background(), command.Meta{CommandID: "y"}, &events.AuthorizePayment{PaymentID: "q", OrderID: "o", CustomerID: "fast", Amount: 1, Currency: "KRW"}); err != nil {
		t.Fatal(err)
	}
}
