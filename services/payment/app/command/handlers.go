package command

import (
	"context"
	"errors"
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
	Load(ctx context.Context, paymentID string) (*payment.Payment, error)
	Execute(ctx context.Context, paymentID string, meta Meta, decide func(p *payment.Payment) ([]any, error)) error
}

// Gateway is the card processor. Every call carries the payment id as its
// idempotency key: the gateway places at most one hold per key, answers a
// repeated call with its first answer, and releases what a key holds at
// most once.
type Gateway interface {
	// Authorize places a hold for the amount (or declines).
	Authorize(ctx context.Context, key, customerID string, amount int64, currency string) (payment.GatewayAnswer, error)
	// Refund gives back what the key holds (or refuses).
	Refund(ctx context.Context, key, orderID string) (payment.GatewayAnswer, error)
	// Void releases a hold the key may have that no payment recorded (a
	// handler that died between the gateway's answer and the append, or
	// lost a race with a refund); nothing held is not an error.
	Void(ctx context.Context, key string) error
}

// Answers answers a repeated command with the outcome already recorded.
type Answers interface {
	Answer(ctx context.Context, commandID, correlationID string, ev any) error
}

// ErrChanged: the payment changed under a handler in a way that needs the
// command handled again (a retryable error).
var ErrChanged = errors.New("payment changed while the command was handled")

// Handlers are the payment use cases.
type Handlers struct {
	payments Payments
	gateway  Gateway
	answers  Answers
	now      func() time.Time
	delay    func(customerID string) time.Duration
}

// New returns the handlers. delay (may be nil) says how long to wait before
// answering an authorisation (failure injection: a slow reply).
func New(payments Payments, gateway Gateway, answers Answers, now func() time.Time, delay func(customerID string) time.Duration) *Handlers {
	if delay == nil {
		delay = func(string) time.Duration { return 0 }
	}
	return &Handlers{payments: payments, gateway: gateway, answers: answers, now: now, delay: delay}
}

// AuthorizePayment holds the amount (PaymentAuthorized) or records the
// gateway's refusal (PaymentFailed). It decides from the payment's state
// before it calls the gateway: a payment already decided (a redelivered or
// repeated command, or one voided by a refund that overtook it) is answered
// with its recorded outcome and the gateway is not called.
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
	cmd := payment.Authorize{OrderID: c.OrderID, CustomerID: c.CustomerID, Amount: c.Amount, Currency: c.Currency}
	p, err := h.payments.Load(ctx, c.PaymentID)
	if err != nil {
		return fmt.Errorf("authorize payment %s: %w", c.PaymentID, err)
	}
	if p.Status() != payment.StatusNew {
		if _, err := p.DecideAuthorize(cmd, payment.GatewayAnswer{}, h.now().UTC()); err != nil {
			return fmt.Errorf("authorize payment %s: %w", c.PaymentID, err) // another order's payment
		}
		return h.answer(ctx, meta, c.PaymentID, p.AuthorizationOutcome())
	}
	answer, err := h.gateway.Authorize(ctx, c.PaymentID, c.CustomerID, c.Amount, c.Currency)
	if err != nil {
		return fmt.Errorf("authorize payment %s: gateway: %w", c.PaymentID, err)
	}
	var decided bool
	var final *payment.Payment
	err = h.payments.Execute(ctx, c.PaymentID, meta, func(p *payment.Payment) ([]any, error) {
		evs, err := p.DecideAuthorize(cmd, answer, h.now().UTC())
		decided, final = len(evs) > 0, p
		return evs, err
	})
	if err != nil {
		return fmt.Errorf("authorize payment %s: %w", c.PaymentID, err)
	}
	if decided {
		return nil
	}
	// Another handler decided meanwhile. If the payment is not authorised
	// (a refund voided it), the hold just placed belongs to nobody: release it.
	if answer.Approved && final.Status() != payment.StatusAuthorized {
		if err := h.gateway.Void(ctx, c.PaymentID); err != nil {
			return fmt.Errorf("authorize payment %s: void the unrecorded hold: %w", c.PaymentID, err)
		}
	}
	return h.answer(ctx, meta, c.PaymentID, final.AuthorizationOutcome())
}

// RefundPayment gives back what the payment holds (PaymentRefunded), records
// the gateway's refusal (PaymentRefundFailed), or voids a payment that holds
// nothing (PaymentRefunded with amount 0; any hold the gateway has under its
// key that no payment recorded is released). A payment already refunded is
// answered with its recorded outcome, without calling the gateway.
func (h *Handlers) RefundPayment(ctx context.Context, meta Meta, c *events.RefundPayment) error {
	p, err := h.payments.Load(ctx, c.PaymentID)
	if err != nil {
		return fmt.Errorf("refund payment %s: %w", c.PaymentID, err)
	}
	var answer payment.GatewayAnswer
	loaded := p.Status()
	switch loaded {
	case payment.StatusRefunded:
		if _, err := p.DecideRefund(c.OrderID, c.Currency, answer, h.now().UTC()); err != nil {
			return fmt.Errorf("refund payment %s: %w", c.PaymentID, err)
		}
		return h.answer(ctx, meta, c.PaymentID, p.RefundOutcome())
	case payment.StatusAuthorized:
		if answer, err = h.gateway.Refund(ctx, c.PaymentID, c.OrderID); err != nil {
			return fmt.Errorf("refund payment %s: gateway: %w", c.PaymentID, err)
		}
	default: // NEW or DECLINED: nothing recorded is held; release what an unrecorded authorisation may hold
		if err := h.gateway.Void(ctx, c.PaymentID); err != nil {
			return fmt.Errorf("refund payment %s: gateway void: %w", c.PaymentID, err)
		}
	}
	var decided bool
	var final *payment.Payment
	err = h.payments.Execute(ctx, c.PaymentID, meta, func(p *payment.Payment) ([]any, error) {
		if p.NeedsGateway() && p.Status() != loaded {
			// Authorised after this handler decided not to call the gateway:
			// fail, so the command is retried on the new state.
			return nil, fmt.Errorf("payment %s was authorised while it was voided: %w", c.PaymentID, ErrChanged)
		}
		a := answer
		if !p.NeedsGateway() {
			a = payment.GatewayAnswer{Approved: true}
		}
		evs, err := p.DecideRefund(c.OrderID, c.Currency, a, h.now().UTC())
		decided, final = len(evs) > 0, p
		return evs, err
	})
	if err != nil {
		return fmt.Errorf("refund payment %s: %w", c.PaymentID, err)
	}
	if decided {
		return nil
	}
	return h.answer(ctx, meta, c.PaymentID, final.RefundOutcome())
}

func (h *Handlers) answer(ctx context.Context, meta Meta, paymentID string, outcome any) error {
	if h.answers == nil || outcome == nil {
		return nil
	}
	if err := h.answers.Answer(ctx, meta.CommandID, meta.CorrelationID, outcome); err != nil {
		return fmt.Errorf("payment %s: %w", paymentID, err)
	}
	return nil
}
