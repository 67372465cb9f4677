package command

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/stratahq/strata/services/order/domain/order"
)

// Config tunes the handlers.
type Config struct {
	// MaxConflictRetries is how many times a command is reloaded and decided
	// again after a version conflict before ErrConflict is returned.
	MaxConflictRetries int
	// RetryBackoff is the base of the randomised pause between such retries.
	RetryBackoff time.Duration
	// Answers, when set, answers a saga's repeated command (AnswerRepeat).
	Answers Answers
}

// Answers answers a repeated command with the outcome already recorded.
type Answers interface {
	Answer(ctx context.Context, commandID, correlationID string, ev any) error
}

// DefaultConfig retries a conflict up to 5 times with a few milliseconds' pause.
var DefaultConfig = Config{MaxConflictRetries: 5, RetryBackoff: 2 * time.Millisecond}

// Handlers runs the order commands.
type Handlers struct {
	stream OrderStream
	stock  StockChecker
	credit CreditChecker
	now    func() time.Time
	cfg    Config
}

// New wires the handlers to their ports; now is the clock (time.Now in production).
func New(stream OrderStream, stock StockChecker, credit CreditChecker, now func() time.Time, cfg Config) *Handlers {
	return &Handlers{stream: stream, stock: stock, credit: credit, now: now, cfg: cfg}
}

// Result is the outcome of a command: the order after it and where its last
// event landed. Duplicate is true when the command had already been handled
// and nothing new was written.
type Result struct {
	Order     *order.Order
	Position  Position
	Duplicate bool
}

// orderNamespace is the UUIDv5 namespace of order ids derived from command ids.
var orderNamespace = uuid.MustParse("6f1c1f0e-3c1a-4f43-9d0e-2b3b2c8f7a10")

// OrderIDFor returns the order id that PlaceOrder with commandID creates.
func OrderIDFor(commandID string) string {
	return uuid.NewSHA1(orderNamespace, []byte(commandID)).String()
}

// PlaceOrder creates an order. Its id is derived from meta.CommandID, so a
// retried command finds and returns the order it created the first time.
func (h *Handlers) PlaceOrder(ctx context.Context, meta Meta, c order.PlaceOrder) (Result, error) {
	if meta.CommandID == "" {
		return Result{}, errors.New("place order: empty command id")
	}
	id := OrderIDFor(meta.CommandID)
	if r, done, err := h.alreadyHandled(ctx, id, meta); done || err != nil {
		return r, err
	}
	// Validate before asking other services anything.
	if err := c.Validate(); err != nil {
		return Result{}, fmt.Errorf("place order %s: %w", id, err)
	}
	if err := h.stock.CheckStock(ctx, c.Items); err != nil {
		return Result{}, fmt.Errorf("place order %s: %w", id, err)
	}
	total, _ := order.Total(c.Items)
	cur := c.Currency
	if cur == "" {
		cur = order.DefaultCurrency
	}
	if err := h.credit.CheckCredit(ctx, c.CustomerID, total, cur); err != nil {
		return Result{}, fmt.Errorf("place order %s: %w", id, err)
	}
	return h.run(ctx, "place order", id, meta, true, func(o *order.Order) ([]any, error) { return o.Place(c, h.now()) })
}

// ConfirmOrder confirms a placed order.
func (h *Handlers) ConfirmOrder(ctx context.Context, meta Meta, id, paymentID, reservationID string) (Result, error) {
	return h.run(ctx, "confirm order", id, meta, false, func(o *order.Order) ([]any, error) {
		return o.Confirm(paymentID, reservationID, h.now())
	})
}

// ShipOrder ships a confirmed order.
func (h *Handlers) ShipOrder(ctx context.Context, meta Meta, id, carrier, tracking string) (Result, error) {
	return h.run(ctx, "ship order", id, meta, false, func(o *order.Order) ([]any, error) {
		return o.Ship(carrier, tracking, h.now())
	})
}

// CancelOrder cancels a placed or confirmed order.
func (h *Handlers) CancelOrder(ctx context.Context, meta Meta, id, reason string) (Result, error) {
	return h.run(ctx, "cancel order", id, meta, false, func(o *order.Order) ([]any, error) {
		return o.Cancel(reason, h.now())
	})
}

// AnswerRepeat answers a saga command the order's state refused ("confirm"
// or "cancel") with the outcome the order recorded: a repeated ConfirmOrder
// gets the OrderConfirmed, a repeated CancelOrder (or a ConfirmOrder for a
// cancelled order) the OrderCancelled. answered is false when the order
// recorded nothing that answers it (e.g. a cancellation of a shipped order).
func (h *Handlers) AnswerRepeat(ctx context.Context, meta Meta, id, command string) (answered bool, err error) {
	if h.cfg.Answers == nil || meta.CommandID == "" {
		return false, nil
	}
	l, err := h.stream.Load(ctx, id)
	if err != nil {
		return false, fmt.Errorf("answer %s of order %s: %w", command, id, err)
	}
	outcome := l.Order.Outcome(command)
	if outcome == nil {
		return false, nil
	}
	if err := h.cfg.Answers.Answer(ctx, meta.CommandID, meta.CorrelationID, outcome); err != nil {
		return false, fmt.Errorf("answer %s of order %s: %w", command, id, err)
	}
	return true, nil
}

// alreadyHandled reports whether the command id already took effect on the stream.
func (h *Handlers) alreadyHandled(ctx context.Context, id string, meta Meta) (Result, bool, error) {
	l, err := h.stream.Load(ctx, id)
	if errors.Is(err, order.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("load order %s: %w", id, err)
	}
	if p, ok := l.Handled[meta.CommandID]; ok {
		return Result{Order: l.Order, Position: p, Duplicate: true}, true, nil
	}
	return Result{}, false, nil
}

// run is load, check idempotency, decide, append, with bounded retries on conflict.
func (h *Handlers) run(ctx context.Context, what, id string, meta Meta, create bool, decide func(*order.Order) ([]any, error)) (Result, error) {
	if id == "" {
		return Result{}, fmt.Errorf("%s: %w", what, &order.ValidationError{Violations: []order.FieldViolation{{Field: "order_id", Description: "must not be empty"}}})
	}
	var lastErr error
	for attempt := 0; attempt <= h.cfg.MaxConflictRetries; attempt++ {
		if attempt > 0 {
			if err := pause(ctx, h.cfg.RetryBackoff, attempt); err != nil {
				return Result{}, fmt.Errorf("%s %s: %w", what, id, err)
			}
		}
		l, err := h.stream.Load(ctx, id)
		switch {
		case errors.Is(err, order.ErrNotFound) && create:
			l = &Loaded{Order: order.New(id)}
		case err != nil:
			return Result{}, fmt.Errorf("%s %s: %w", what, id, err)
		}
		if p, ok := l.Handled[meta.CommandID]; ok && meta.CommandID != "" {
			return Result{Order: l.Order, Position: p, Duplicate: true}, nil
		}
		if meta.ExpectedVersion != 0 && meta.ExpectedVersion != l.Order.Version() {
			return Result{}, fmt.Errorf("%s %s: %w: expected version %d, order is at %d", what, id, ErrConflict, meta.ExpectedVersion, l.Order.Version())
		}
		evs, err := decide(l.Order)
		if err != nil {
			return Result{}, fmt.Errorf("%s %s: %w", what, id, err)
		}
		pos, err := h.stream.Append(ctx, id, l.Order.Version(), meta, evs)
		if errors.Is(err, ErrConflict) {
			lastErr = err
			if meta.ExpectedVersion != 0 {
				break // the client asked for this exact version: no retry
			}
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("%s %s: %w", what, id, err)
		}
		if err := l.Order.ApplyAll(evs...); err != nil {
			return Result{}, fmt.Errorf("%s %s: apply decided events: %w", what, id, err)
		}
		return Result{Order: l.Order, Position: pos}, nil
	}
	return Result{}, fmt.Errorf("%s %s: gave up after conflicts: %w", what, id, lastErr)
}

func pause(ctx context.Context, base time.Duration, attempt int) error {
	if base <= 0 {
		return ctx.Err()
	}
	d := base*time.Duration(attempt) + time.Duration(rand.Int64N(int64(base)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
