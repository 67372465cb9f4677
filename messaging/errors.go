package messaging

import (
	"errors"
	"fmt"

	"github.com/stratahq/strata/serde"
)

// Sentinel errors. Typed errors below unwrap to them; test with errors.Is.
var (
	// ErrConfig reports an invalid RelayConfig or ConsumerConfig.
	ErrConfig = errors.New("messaging: invalid configuration")
	// ErrNotWireFormat reports a value that is not in the Confluent wire format
	// (too short, or a magic byte other than 0). It is serde's sentinel.
	ErrNotWireFormat = serde.ErrNotWireFormat
	// ErrUnknownSchema reports a schema id or fingerprint the registry or the
	// event store does not know.
	ErrUnknownSchema = errors.New("messaging: unknown schema")
	// ErrDecode reports an Avro body that cannot be decoded with its writer
	// schema (truncated, corrupt) or upcast to the handler's type.
	ErrDecode = errors.New("messaging: cannot decode event")
	// ErrNoHandler reports an event type no handler is registered for.
	ErrNoHandler = errors.New("messaging: no handler for event type")
	// ErrHandler reports a handler that returned an error.
	ErrHandler = errors.New("messaging: handler failed")
	// ErrLeaseLost reports that the relay lost its PostgreSQL lease (the
	// advisory lock connection broke); another instance may take over.
	ErrLeaseLost = errors.New("messaging: relay lease lost")
	// ErrDelivery reports a Kafka delivery report with an error.
	ErrDelivery = errors.New("messaging: kafka delivery failed")
)

// PoisonKind classifies why a message went to the dead-letter topic. Its
// string form is the value of the dlq-error-kind header.
type PoisonKind string

// The poison kinds.
const (
	PoisonNotWireFormat PoisonKind = "not-wire-format" // wrong magic byte or too short
	PoisonUnknownSchema PoisonKind = "unknown-schema"  // schema id unknown to the registry
	PoisonDecode        PoisonKind = "decode"          // truncated or corrupt Avro, or upcast failure
	PoisonNoHandler     PoisonKind = "no-handler"      // no handler (only with UnknownEvents = DLQ)
	PoisonHandler       PoisonKind = "handler"         // the handler failed MaxAttempts times or permanently
)

// PoisonError is a message the consumer gave up on. It unwraps to the
// underlying cause, which itself wraps one of the sentinels above.
type PoisonError struct {
	Kind      PoisonKind
	Topic     string
	Partition int32
	Offset    int64
	Attempts  int
	Err       error
}

func (e *PoisonError) Error() string {
	return fmt.Sprintf("messaging: poison message %s[%d]@%d (%s, %d attempts): %v",
		e.Topic, e.Partition, e.Offset, e.Kind, e.Attempts, e.Err)
}

func (e *PoisonError) Unwrap() error { return e.Err }

// DeliveryError is a failed Kafka delivery report for one event.
type DeliveryError struct {
	Topic   string
	Key     string
	EventID string
	Err     error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("messaging: deliver event %s (key %q) to %s: %v", e.EventID, e.Key, e.Topic, e.Err)
}

func (e *DeliveryError) Unwrap() []error { return []error{ErrDelivery, e.Err} }

// permanent marks a handler error as not worth retrying.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps a handler error so that the consumer sends the message to
// the dead-letter topic at once instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsRetryable reports whether a handler error may succeed on a later attempt:
// every error except those wrapped by Permanent and the decode-side sentinels.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var p permanent
	if errors.As(err, &p) {
		return false
	}
	switch {
	case errors.Is(err, ErrNotWireFormat), errors.Is(err, ErrUnknownSchema),
		errors.Is(err, ErrDecode), errors.Is(err, ErrNoHandler), errors.Is(err, ErrConfig):
		return false
	}
	return true
}

// QuarantinedError reports an event Kafka refused for good (too large, an
// invalid record): the relay recorded it in its quarantine and holds at it.
type QuarantinedError struct {
	Relay, EventID, Stream, Topic string
	Size                          int
	Err                           error
}

func (e *QuarantinedError) Error() string {
	return fmt.Sprintf("relay %s: Kafka refused event %s of stream %s (%d bytes) for %s: %v; quarantined: strata relay quarantine skip --relay %s %s",
		e.Relay, e.EventID, e.Stream, e.Size, e.Topic, e.Err, e.Relay, e.EventID)
}

// Unwrap returns ErrDelivery and the cause.
func (e *QuarantinedError) Unwrap() []error { return []error{ErrDelivery, e.Err} }
