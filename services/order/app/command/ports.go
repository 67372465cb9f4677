package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratahq/strata/services/order/domain/order"
)

// Errors reported by the ports this package depends on; adapters wrap their
// own errors so that errors.Is finds these.
var (
	// ErrConflict: the stream moved on since it was loaded.
	ErrConflict = errors.New("order stream: version conflict")
	// ErrUnavailable: a dependency (store, stock or credit service) cannot be reached.
	ErrUnavailable = errors.New("dependency unavailable")
	// ErrRejected: a stock or credit check said no (see *RejectedError).
	ErrRejected = errors.New("order rejected")
)

// RejectedError says which check refused an order and why.
type RejectedError struct {
	Check   string // "stock" or "credit"
	Subject string // product id or customer id
	Reason  string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("order rejected by %s check for %s: %s", e.Check, e.Subject, e.Reason)
}

// Unwrap returns ErrRejected.
func (e *RejectedError) Unwrap() error { return ErrRejected }

// Position is where a command's last event landed: the order's stream and
// version, and the global-log cursor ("txid:position"). Queries wait for it to
// read their writes.
type Position struct {
	StreamID string
	Version  int64
	Cursor   string
}

// Meta is what every appended event records about the command behind it.
type Meta struct {
	CommandID     string // causation id of the events; idempotency key
	CorrelationID string
	UserID        string
	TraceParent   string
	// ExpectedVersion, when non-zero, is the stream version the client saw:
	// the command fails with ErrConflict (and is not retried) unless the
	// order is still at that version.
	ExpectedVersion int64
}

// Loaded is an order read from its stream.
type Loaded struct {
	Order *order.Order
	// Handled maps each causation id found in the stream to the position of
	// the last event it caused.
	Handled map[string]Position
	// Last is the position of the stream's last event.
	Last Position
}

// OrderStream loads and appends order streams.
type OrderStream interface {
	// Load returns the order; an order.ErrNotFound error when it has no events.
	Load(ctx context.Context, id string) (*Loaded, error)
	// Append writes events after version expected (0: the stream must not
	// exist) and returns the position of the last one; ErrConflict when the
	// stream's version is not expected.
	Append(ctx context.Context, id string, expected int64, meta Meta, events []any) (Position, error)
}

// StockChecker says whether the items can be supplied.
type StockChecker interface {
	// CheckStock returns nil, a *RejectedError, or an error wrapping ErrUnavailable.
	CheckStock(ctx context.Context, items []order.Item) error
}

// CreditChecker says whether a customer may spend an amount.
type CreditChecker interface {
	// CheckCredit returns nil, a *RejectedError, or an error wrapping ErrUnavailable.
	CheckCredit(ctx context.Context, customerID string, amount int64, currency string) error
}
