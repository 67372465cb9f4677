package payment

import (
	"errors"
	"fmt"
	"time"

	events "github.com/stratahq/strata/gen/avro/payment"
)

// Status is where a payment is in its life.
type Status int

// Payment states.
const (
	StatusNew Status = iota
	StatusAuthorized
	StatusDeclined
	StatusRefunded
)

var statusNames = [...]string{"NEW", "AUTHORIZED", "DECLINED", "REFUNDED"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Errors.
var (
	// ErrInvalid: a command is malformed (see the wrapped detail).
	ErrInvalid = errors.New("payment: invalid command")
	// ErrMismatch: a command names another order than the payment's.
	ErrMismatch = errors.New("payment: command does not match the payment")
)

// Payment is the aggregate's state, rebuilt from its events.
type Payment struct {
	id         string
	orderID    string
	status     Status
	amount     int64 // authorised amount still held (0 once refunded)
	refunded   int64
	currency   string
	refundFail int // refund attempts that failed
	version    int64
	// The outcomes recorded, to answer a repeated command with.
	authorization any // *events.PaymentAuthorized or *events.PaymentFailed
	refund        *events.PaymentRefunded
}

// New returns a payment with no history.
func New(id string) *Payment { return &Payment{id: id} }

// ID returns the payment id.
func (p *Payment) ID() string { return p.id }

// OrderID returns the order the payment is for ("" while NEW).
func (p *Payment) OrderID() string { return p.orderID }

// Status returns the state.
func (p *Payment) Status() Status { return p.status }

// Held returns the amount currently authorised and not refunded.
func (p *Payment) Held() int64 { return p.amount }

// Refunded returns the amount given back.
func (p *Payment) Refunded() int64 { return p.refunded }

// Version returns the number of events applied.
func (p *Payment) Version() int64 { return p.version }

// Apply folds one event into the state; unknown events are errors.
func (p *Payment) Apply(e any) error {
	switch e := e.(type) {
	case *events.PaymentAuthorized:
		if p.status != StatusNew {
			return fmt.Errorf("payment %s: PaymentAuthorized in state %s", p.id, p.status)
		}
		p.orderID, p.amount, p.currency, p.status = e.OrderID, e.Amount, e.Currency, StatusAuthorized
		p.authorization = e
	case *events.PaymentFailed:
		if p.status != StatusNew {
			return fmt.Errorf("payment %s: PaymentFailed in state %s", p.id, p.status)
		}
		p.orderID, p.status = e.OrderID, StatusDeclined
		p.authorization = e
	case *events.PaymentRefunded:
		if p.status == StatusRefunded {
			return fmt.Errorf("payment %s: PaymentRefunded in state %s", p.id, p.status)
		}
		p.orderID = e.OrderID
		p.refunded += e.Amount
		p.amount -= e.Amount
		p.status = StatusRefunded
		p.refund = e
	case *events.PaymentRefundFailed:
		if p.status != StatusAuthorized {
			return fmt.Errorf("payment %s: PaymentRefundFailed in state %s", p.id, p.status)
		}
		p.refundFail++
	default:
		return fmt.Errorf("payment %s: unknown event %T", p.id, e)
	}
	p.version++
	return nil
}

// Authorize is the command to hold an amount for an order.
type Authorize struct {
	OrderID    string
	CustomerID string
	Amount     int64
	Currency   string
}

// GatewayAnswer is what the card gateway said.
type GatewayAnswer struct {
	Approved bool
	Reason   string // why not
}

func (c Authorize) validate() error {
	var errs []error
	if c.OrderID == "" {
		errs = append(errs, errors.New("order_id is empty"))
	}
	if c.Amount <= 0 {
		errs = append(errs, fmt.Errorf("amount %d is not positive", c.Amount))
	}
	if !isCurrency(c.Currency) {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", c.Currency))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// DecideAuthorize decides the events of an authorisation given the gateway's
// answer. A payment that is not NEW decides nothing (the command was handled
// before, or a refund overtook it and the payment is void).
func (p *Payment) DecideAuthorize(c Authorize, answer GatewayAnswer, now time.Time) ([]any, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if p.status != StatusNew {
		if p.orderID != "" && p.orderID != c.OrderID {
			return nil, fmt.Errorf("payment %s is for order %s, not %s: %w", p.id, p.orderID, c.OrderID, ErrMismatch)
		}
		return nil, nil
	}
	if !answer.Approved {
		reason := answer.Reason
		if reason == "" {
			reason = "declined by the card gateway"
		}
		return []any{&events.PaymentFailed{PaymentID: p.id, OrderID: c.OrderID, Reason: reason, FailedAt: now}}, nil
	}
	return []any{&events.PaymentAuthorized{PaymentID: p.id, OrderID: c.OrderID, Amount: c.Amount, Currency: c.Currency, AuthorizedAt: now}}, nil
}

// AuthorizationOutcome is the answer recorded to an authorisation, for a
// repeated AuthorizePayment: PaymentAuthorized or PaymentFailed, or, for a
// payment voided before it was authorised, a PaymentFailed saying so. nil
// while the payment is NEW (nothing decided yet).
func (p *Payment) AuthorizationOutcome() any {
	switch {
	case p.authorization != nil:
		return p.authorization
	case p.status == StatusRefunded && p.refund != nil:
		return &events.PaymentFailed{PaymentID: p.id, OrderID: p.orderID, Reason: "payment voided before it was authorised", FailedAt: p.refund.RefundedAt}
	}
	return nil
}

// RefundOutcome is the PaymentRefunded recorded, for a repeated
// RefundPayment; nil unless the payment is REFUNDED.
func (p *Payment) RefundOutcome() any {
	if p.refund == nil {
		return nil
	}
	return p.refund
}

// NeedsGateway reports whether a refund would move money (so the gateway
// must be asked); refunds of nothing never fail.
func (p *Payment) NeedsGateway() bool { return p.status == StatusAuthorized }

// DecideRefund decides the events of a refund. A held amount is given back
// (or the gateway's failure recorded); a payment that holds nothing (NEW or
// DECLINED) is refunded with amount 0, which also voids it; a REFUNDED one
// decides nothing.
func (p *Payment) DecideRefund(orderID, currency string, answer GatewayAnswer, now time.Time) ([]any, error) {
	if orderID == "" {
		return nil, fmt.Errorf("%w: order_id is empty", ErrInvalid)
	}
	if p.orderID != "" && p.orderID != orderID {
		return nil, fmt.Errorf("payment %s is for order %s, not %s: %w", p.id, p.orderID, orderID, ErrMismatch)
	}
	switch p.status {
	case StatusRefunded:
		return nil, nil
	case StatusNew, StatusDeclined:
		return []any{&events.PaymentRefunded{PaymentID: p.id, OrderID: orderID, Amount: 0, Currency: currency, RefundedAt: now}}, nil
	case StatusAuthorized:
		if !answer.Approved {
			reason := answer.Reason
			if reason == "" {
				reason = "refund refused by the card gateway"
			}
			return []any{&events.PaymentRefundFailed{PaymentID: p.id, OrderID: orderID, Reason: reason, FailedAt: now}}, nil
		}
		return []any{&events.PaymentRefunded{PaymentID: p.id, OrderID: orderID, Amount: p.amount, Currency: p.currency, RefundedAt: now}}, nil
	default:
		return nil, fmt.Errorf("payment %s: unknown state %s", p.id, p.status)
	}
}

// isCurrency reports whether s looks like an ISO 4217 code (three capitals).
func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
