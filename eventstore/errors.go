package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors. Typed errors below unwrap to them; test with errors.Is.
var (
	// ErrVersionConflict: the stream's version is not the expected one.
	ErrVersionConflict = errors.New("eventstore: version conflict")
	// ErrStreamDeleted: the stream is tombstoned.
	ErrStreamDeleted = errors.New("eventstore: stream deleted")
	// ErrStreamNotFound: the stream has no events.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrDuplicateEvent: an event id is already stored, and the append is not
	// an exact retry of an earlier one to the same stream.
	ErrDuplicateEvent = errors.New("eventstore: duplicate event id")
	// ErrStreamTypeMismatch: the stream exists with another stream type.
	ErrStreamTypeMismatch = errors.New("eventstore: stream type mismatch")
	// ErrUnknownSchema: an event's writer schema fingerprint is not stored and
	// the event did not carry the schema text to store it.
	ErrUnknownSchema = errors.New("eventstore: unknown writer schema")
	// ErrInvalidArgument: the call itself is malformed (empty stream id, no events, ...).
	ErrInvalidArgument = errors.New("eventstore: invalid argument")
	// ErrNoCheckpoint: no checkpoint is stored under that name.
	ErrNoCheckpoint = errors.New("eventstore: no checkpoint")
	// ErrDecode: a stored event or snapshot could not be turned into a value.
	ErrDecode = errors.New("eventstore: decode")
	// ErrEventTooLarge: an event is larger than Config.MaxEventBytes (Kafka
	// would refuse it; the relay could not publish it).
	ErrEventTooLarge = errors.New("eventstore: event too large")
	// ErrTruncated: an aggregate load needs events below the stream's
	// truncation point (no usable snapshot covers them).
	ErrTruncated = errors.New("eventstore: stream truncated")
)

// EventTooLargeError reports an event of an append larger than the limit.
type EventTooLargeError struct {
	Stream string
	Index  int    // the event's index in the batch
	Type   string // its event type
	Size   int    // its size as Kafka counts it (payload, key, headers), bytes
	Max    int    // Config.MaxEventBytes
}

func (e *EventTooLargeError) Error() string {
	return fmt.Sprintf("eventstore: event %d (%s) of stream %q is %d bytes, more than the %d byte limit (Kafka's message.max.bytes; eventstore.Config.MaxEventBytes)",
		e.Index, e.Type, e.Stream, e.Size, e.Max)
}

// Unwrap returns ErrEventTooLarge.
func (e *EventTooLargeError) Unwrap() error { return ErrEventTooLarge }

// VersionConflictError reports an append or delete whose expected version did not hold.
type VersionConflictError struct {
	Stream   string
	Expected Expected
	Actual   int64 // the stream's version when checked; 0 = no events
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("eventstore: version conflict on stream %q: expected %s, actual %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap returns ErrVersionConflict.
func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }

// StreamDeletedError reports an operation on a tombstoned stream.
type StreamDeletedError struct{ Stream string }

func (e *StreamDeletedError) Error() string {
	return fmt.Sprintf("eventstore: stream %q is deleted", e.Stream)
}

// Unwrap returns ErrStreamDeleted.
func (e *StreamDeletedError) Unwrap() error { return ErrStreamDeleted }

// DecodeError reports a stored event or snapshot that could not be decoded.
type DecodeError struct {
	Stream  string
	Version int64
	Type    string
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("eventstore: decode %s %s@%d: %v", e.Type, e.Stream, e.Version, e.Err)
}

// Unwrap returns ErrDecode and the cause.
func (e *DecodeError) Unwrap() []error { return []error{ErrDecode, e.Err} }

// IsRetryable reports whether err is worth retrying: a version conflict (reload
// and run the command again), a serialization failure or deadlock, or a
// connection error before anything was sent (pgconn.SafeToRetry).
// Context cancellation is not retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrVersionConflict) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", "55P03", "57P01": // serialization_failure, deadlock_detected, lock_not_available, admin_shutdown
			return true
		}
		return false
	}
	return pgconn.SafeToRetry(err)
}

// ErrTxCounterBehind: the database holds events with transaction ids at or
// above the cluster's next one: it was restored from a dump (pg_dump,
// pg_restore) into another cluster. New events would sort below every reader's
// checkpoint and never be read. Migrate refuses such a database.
var ErrTxCounterBehind = errors.New("eventstore: stored transaction ids exceed the cluster's counter")

// TxCounterBehindError reports a database whose events' transaction ids
// exceed the cluster's counter, and how to fix it.
type TxCounterBehindError struct {
	MaxTxID uint64 // the highest stored tx_id
	Next    uint64 // the cluster's next transaction id
}

// Epoch is the transaction id epoch that puts new transactions above every
// stored one (pg_resetwal -e).
func (e *TxCounterBehindError) Epoch() uint64 { return e.MaxTxID>>32 + 1 }

func (e *TxCounterBehindError) Error() string {
	return fmt.Sprintf("eventstore: stored events have transaction ids up to %d but this cluster's next is %d (restored from a dump into another cluster?): "+
		"new events would sort below every checkpoint and never be relayed; stop the cluster, run pg_resetwal -e %d on its data directory, start it (docs/operations.md#restoring-into-a-new-cluster)",
		e.MaxTxID, e.Next, e.Epoch())
}

// Unwrap returns ErrTxCounterBehind.
func (e *TxCounterBehindError) Unwrap() error { return ErrTxCounterBehind }
