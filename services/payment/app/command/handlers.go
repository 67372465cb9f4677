package command

import (
	"context"
	"fmt"
	"time"

	events "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

// Meta is what every appended event records about the command behind it.
type Meta struct {
	CommandID     string // causation id; event ids derive from it
	CorrelationID string // the saga id
}

// Payments loads a payment, runs decide on it and appends the events decided,
// retrying a bounded number of times on a concurrent change.
type Payments interface {
	Execute(ctx context.Context, paymentID string, meta Meta, decide func(p *payment.Payment) ([]any, error)) error
}

// Gateway is the card processor. Calls carry the payment id as the
// idempotency key, so a retried command is safe.
type Gateway interface {
	Authorize(ctx context.Context, paymentID, customerID string, amount int64, currency string) (payment.GatewayAnswer, error)
	Refund(ctx context.Context, paymentID, orderID string) (payment.GatewayAnswer, error)
}

// Handlers are the payment use cases.
type Handlers struct {
	payments Payments
	gateway  Gateway
	now      func() time.Time
	delay    func(customerID string) time.Duration
}

// New returns the handlers. delay (may be nil) says how long to wait before
// answering an authorisation (failure injection: a slow reply).
func New(payments Payments, gateway Gateway, now func() time.Time, delay func(customerID string) time.Duration) *Handlers {
	if delay == nil {
		delay = func(string) time.Duration { return 0 }
	}
	return &Handlers{payments: payments, gateway: gateway, now: now, delay: delay}
}

// AuthorizePayment holds the amount (PaymentAuthorized) or records the
// gateway's refusal (PaymentFailed).
func (h *Handlers) AuthorizePayment(ctx context.Context, meta Meta, c *events.AuthorizePayment) error {
	if d := h.delay(c.CustomerID); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	answer, err := h.gateway.Authorize(ctx, c.PaymentID, c.CustomerID, c.Amount, c.Currency)
	if err != nil {
		return fmt.Errorf("authorize payment %s: gateway: %w", c.PaymentID, err)
	}
	cmd := payment.Authorize{OrderID: c.OrderID, CustomerID: c.CustomerID, Amount: c.Amount, Currency: c.Currency}
	err = h.payments.Execute(ctx, c.PaymentID, meta, func(p *payment.Payment) ([]any, error) {
		return p.DecideAuthorize(cmd, answer, h.now().UTC())
	})
	if err != nil {
		return fmt.Errorf("authorize payment %s: %w", c.PaymentID, err)
	}
	return nil
}

// RefundPayment gives back what the payment holds (PaymentRefunded), records
// the gateway's refusal (PaymentRefundFailed), or voids a payment that holds
// nothing (PaymentRefunded with amount 0).
func (h *Handlers) RefundPayment(ctx context.Context, meta Meta, c *events.RefundPayment) error {
	answer, err := h.gateway.Refund(ctx, c.PaymentID, c.OrderID)
	if err != nil {
		return fmt.Errorf("refund payment %s: gateway: %w", c.PaymentID, err)
	}
	err = h.payments.Execute(ctx, c.PaymentID, meta, func(p *payment.Payment) ([]any, error) {
		if !p.NeedsGateway() {
			answer = payment.GatewayAnswer{Approved: true}
		}
		return p.DecideRefund(c.OrderID, c.Currency, answer, h.now().UTC())
	})
	if err != nil {
		return fmt.Errorf("refund payment %s: %w", c.PaymentID, err)
	}
	return nil
}
