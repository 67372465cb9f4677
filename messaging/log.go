package messaging

import (
	"context"
	"time"
)

// Cursor is a position in the event store's commit-ordered global log:
// the writing transaction's id and the event's position. The zero Cursor is
// the start of the log.
type Cursor struct {
	TxID     uint64
	Position int64
}

// LogEvent is one recorded event as the relay reads it from the global log.
type LogEvent struct {
	Cursor        Cursor
	StreamID      string // Kafka key
	StreamType    string // default topic: events.<StreamType>
	StreamVersion int64
	EventID       string
	EventType     string // Avro full name = registry subject (RecordNameStrategy)
	Fingerprint   string // the writer schema's fingerprint in the store (opaque)
	Payload       []byte // Avro binary written with that schema
	CorrelationID string
	CausationID   string
	UserID        string
	TraceParent   string
	RecordedAt    time.Time
}

// Log is what the relay needs from the event store: the global log read by
// cursor in commit order, and the writer schemas by fingerprint. ReadLog
// returns at most limit events after the cursor, oldest first, and never an
// event whose transaction may still be followed by an earlier-committing one.
type Log interface {
	ReadLog(ctx context.Context, after Cursor, limit int) ([]LogEvent, error)
	WriterSchema(ctx context.Context, fingerprint string) (schemaJSON string, err error)
}

// LogHead is implemented by logs that can tell the newest position, for the
// relay's lag metric (events behind head).
type LogHead interface {
	HeadPosition(ctx context.Context) (int64, error)
}

// LogWaiter is implemented by logs that can wake the relay when events are
// appended (e.g. LISTEN/NOTIFY). WaitForAppend returns when an append may
// have happened, when ctx is done, or after at most max.
type LogWaiter interface {
	WaitForAppend(ctx context.Context, max time.Duration) error
}

// LogChecker is implemented by logs that can tell they are unfit to relay
// (the store's: its transaction ids exceed the cluster's counter after a
// restore into another cluster). The relay checks before it leads and does
// not lead while it fails.
type LogChecker interface {
	CheckLog(ctx context.Context) error
}

// Route chooses the topic of an event.
type Route func(e *LogEvent) string

// DefaultRoute sends each event to events.<stream type>.
func DefaultRoute(e *LogEvent) string { return "events." + e.StreamType }
