package eventstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Expected is the version a stream must have for an append to succeed: one of
// Any, NoStream, StreamExists, or an exact version built with Exact (0 is the
// same as NoStream).
type Expected int64

const (
	// Any appends whatever the stream's version.
	Any Expected = -1
	// NoStream requires the stream to have no events.
	NoStream Expected = -2
	// StreamExists requires the stream to have at least one event.
	StreamExists Expected = -3
)

// Exact expects the stream's last event to have version v (v = 0: no events).
func Exact(v int64) Expected { return Expected(v) }

func (e Expected) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no stream"
	case StreamExists:
		return "stream exists"
	}
	return strconv.FormatInt(int64(e), 10)
}

func (e Expected) valid() bool { return e >= -3 }

// allows reports whether a stream at version v satisfies e.
func (e Expected) allows(v int64) bool {
	switch e {
	case Any:
		return true
	case NoStream:
		return v == 0
	case StreamExists:
		return v > 0
	}
	return int64(e) == v
}

// Fingerprint identifies a writer schema: SHA-256 of its Avro Parsing Canonical Form.
type Fingerprint [32]byte

func (f Fingerprint) String() string { return fmt.Sprintf("%x", f[:]) }

// Schema is a writer schema as the store keeps it.
type Schema struct {
	Fingerprint Fingerprint
	Name        string // Avro full name
	JSON        string // the schema text
}

// Metadata travels with every event. Empty strings are stored as NULL.
type Metadata struct {
	CorrelationID string
	CausationID   string
	UserID        string
	TraceParent   string // W3C traceparent (carries the trace id)
}

// EventData is an event to append.
type EventData struct {
	ID      uuid.UUID // unique; re-appending the same ids to the same stream is a no-op
	Type    string    // Avro full name, e.g. shop.order.OrderPlaced
	Schema  Schema    // writer schema; JSON may be empty once the fingerprint is stored
	Payload []byte    // Avro binary
	Metadata
}

// RecordedEvent is a stored event.
type RecordedEvent struct {
	Position    int64  // insertion order; unique, not commit order
	TxID        uint64 // writing transaction id; (TxID, Position) is the commit-safe order
	StreamID    string
	StreamType  string
	Version     int64 // 1-based position within the stream
	ID          uuid.UUID
	Type        string
	Fingerprint Fingerprint
	Payload     []byte
	Metadata
	RecordedAt time.Time
}

// Cursor returns the global-log cursor just at this event.
func (e *RecordedEvent) Cursor() Cursor { return Cursor{TxID: e.TxID, Position: e.Position} }

// Cursor is a place in the global log: reads return events strictly after it.
// The zero Cursor is the start of the log. Cursors order by (TxID, Position).
type Cursor struct {
	TxID     uint64
	Position int64
}

// Start is the cursor before the first event.
var Start = Cursor{}

// Less reports whether c sorts before d.
func (c Cursor) Less(d Cursor) bool {
	return c.TxID < d.TxID || (c.TxID == d.TxID && c.Position < d.Position)
}

// String formats c as "txid:position" (ParseCursor reads it back), suitable as
// a read-your-writes token.
func (c Cursor) String() string { return fmt.Sprintf("%d:%d", c.TxID, c.Position) }

// ParseCursor parses the form written by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	tx, pos, ok := strings.Cut(s, ":")
	if !ok {
		return Cursor{}, fmt.Errorf("%w: cursor %q: want txid:position", ErrInvalidArgument, s)
	}
	t, err1 := strconv.ParseUint(tx, 10, 64)
	p, err2 := strconv.ParseInt(pos, 10, 64)
	if err := errors.Join(err1, err2); err != nil || p < 0 {
		return Cursor{}, fmt.Errorf("%w: cursor %q: %v", ErrInvalidArgument, s, err)
	}
	return Cursor{TxID: t, Position: p}, nil
}

// Appended is where one appended event landed.
type Appended struct {
	Position int64
	Version  int64
}

// AppendResult describes a successful append.
type AppendResult struct {
	StreamID string
	TxID     uint64
	Events   []Appended // in version order
	// Replayed is true when every event id was already stored in this stream:
	// nothing was written and Events describe the original append.
	Replayed bool
}

// LastVersion is the version of the last appended event.
func (r AppendResult) LastVersion() int64 {
	if len(r.Events) == 0 {
		return 0
	}
	return r.Events[len(r.Events)-1].Version
}

// Cursor is the global-log cursor of the last appended event: a subscriber that
// has passed it has seen the whole append (a read-your-writes token).
func (r AppendResult) Cursor() Cursor {
	if len(r.Events) == 0 {
		return Cursor{}
	}
	return Cursor{TxID: r.TxID, Position: r.Events[len(r.Events)-1].Position}
}

// StreamInfo describes a stream.
type StreamInfo struct {
	ID              string
	Type            string
	Version         int64
	Tombstoned      bool
	TruncatedBefore int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// DefaultMaxEventBytes is Config.MaxEventBytes's default: Kafka's default
// message.max.bytes (1,048,588) less room for the record batch overhead.
const DefaultMaxEventBytes = 1_000_000
