package payment_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	events "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func given(t *testing.T, evs ...any) *payment.Payment {
	t.Helper()
	p := payment.New("pay-1")
	for _, e := range evs {
		if err := p.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

var (
	auth     = &events.PaymentAuthorized{PaymentID: "pay-1", OrderID: "o-1", Amount: 500, Currency: "KRW", AuthorizedAt: now}
	declined = &events.PaymentFailed{PaymentID: "pay-1", OrderID: "o-1", Reason: "card declined", FailedAt: now}
	refunded = &events.PaymentRefunded{PaymentID: "pay-1", OrderID: "o-1", Amount: 500, Currency: "KRW", RefundedAt: now}
	voided   = &events.PaymentRefunded{PaymentID: "pay-1", OrderID: "o-1", Amount: 0, Currency: "KRW", RefundedAt: now}
	ok       = payment.GatewayAnswer{Approved: true}
	no       = payment.GatewayAnswer{Approved: false, Reason: "card declined"}
	cmd      = payment.Authorize{OrderID: "o-1", CustomerID: "c-1", Amount: 500, Currency: "KRW"}
)

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name   string
		given  []any
		cmd    payment.Authorize
		answer payment.GatewayAnswer
		want   []any
		err    error
	}{
		{"approved", nil, cmd, ok, []any{auth}, nil},
		{"declined", nil, cmd, no, []any{declined}, nil},
		{"repeat after authorised: nothing", []any{auth}, cmd, ok, nil, nil},
		{"repeat after declined: nothing", []any{declined}, cmd, ok, nil, nil},
		{"after a refund overtook it: nothing (void)", []any{voided}, cmd, ok, nil, nil},
		{"another order", []any{auth}, payment.Authorize{OrderID: "o-2", Amount: 1, Currency: "KRW"}, ok, nil, payment.ErrMismatch},
		{"zero amount", nil, payment.Authorize{OrderID: "o-1", Amount: 0, Currency: "KRW"}, ok, nil, payment.ErrInvalid},
		{"bad currency", nil, payment.Authorize{OrderID: "o-1", Amount: 1, Currency: "won"}, ok, nil, payment.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := given(t, tc.given...).DecideAuthorize(tc.cmd, tc.answer, now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestRefund(t *testing.T) {
	tests := []struct {
		name   string
		given  []any
		answer payment.GatewayAnswer
		want   []any
	}{
		{"authorised: refund the held amount", []any{auth}, ok, []any{refunded}},
		{"gateway refuses: recorded", []any{auth}, no, []any{&events.PaymentRefundFailed{PaymentID: "pay-1", OrderID: "o-1", Reason: "card declined", FailedAt: now}}},
		{"nothing authorised yet: void", nil, ok, []any{voided}},
		{"declined: nothing held, void", []any{declined}, ok, []any{voided}},
		{"already refunded: nothing", []any{auth, refunded}, ok, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := given(t, tc.given...).DecideRefund("o-1", "KRW", tc.answer, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestApplyHeldAndRejects(t *testing.T) {
	p := given(t, auth)
	if p.Held() != 500 || p.Status() != payment.StatusAuthorized {
		t.Fatalf("held %d status %s", p.Held(), p.Status())
	}
	if err := p.Apply(refunded); err != nil {
		t.Fatal(err)
	}
	if p.Held() != 0 || p.Refunded() != 500 || p.Status() != payment.StatusRefunded {
		t.Fatalf("held %d refunded %d status %s", p.Held(), p.Refunded(), p.Status())
	}
	if err := p.Apply(auth); err == nil {
		t.Fatal("authorised after refund accepted")
	}
	if err := p.Apply(struct{}{}); err == nil {
		t.Fatal("unknown event accepted")
	}
}
