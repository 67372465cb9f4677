package archive

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"time"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/eventstore"
)

// RecordSchema is the Avro schema of the records in an archive's container
// files: one stored event row.
const RecordSchema = `{
  "type": "record",
  "name": "ArchivedEvent",
  "namespace": "strata.archive",
  "doc": "One event of the Strata event store, as stored; payload is Avro binary written with the schema whose SHA-256 Parsing Canonical Form fingerprint is schema_fingerprint (schemas: the container metadata strata.schemas and manifest.json).",
  "fields": [
    {"name": "position", "type": "long", "doc": "Global log position (insertion order)."},
    {"name": "tx_id", "type": "long", "doc": "Writing transaction id (xid8); (tx_id, position) is the commit order."},
    {"name": "stream_id", "type": "string"},
    {"name": "stream_type", "type": "string"},
    {"name": "version", "type": "long", "doc": "1-based version within the stream."},
    {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "event_type", "type": "string", "doc": "Avro full name of the payload."},
    {"name": "schema_fingerprint", "type": {"type": "fixed", "name": "Sha256", "size": 32}},
    {"name": "payload", "type": "bytes"},
    {"name": "correlation_id", "type": ["null", "string"], "default": null},
    {"name": "causation_id", "type": ["null", "string"], "default": null},
    {"name": "user_id", "type": ["null", "string"], "default": null},
    {"name": "traceparent", "type": ["null", "string"], "default": null},
    {"name": "recorded_at", "type": {"type": "long", "logicalType": "timestamp-micros"}}
  ]
}`

// Record is one archived event, as written to the container files.
type Record struct {
	Position          int64     `avro:"position"`
	TxID              int64     `avro:"tx_id"`
	StreamID          string    `avro:"stream_id"`
	StreamType        string    `avro:"stream_type"`
	Version           int64     `avro:"version"`
	EventID           string    `avro:"event_id"`
	EventType         string    `avro:"event_type"`
	SchemaFingerprint [32]byte  `avro:"schema_fingerprint"`
	Payload           []byte    `avro:"payload"`
	CorrelationID     *string   `avro:"correlation_id"`
	CausationID       *string   `avro:"causation_id"`
	UserID            *string   `avro:"user_id"`
	TraceParent       *string   `avro:"traceparent"`
	RecordedAt        time.Time `avro:"recorded_at"`
}

func parseRecordSchema() (avro.Schema, *avro.SchemaCache, error) {
	cache := &avro.SchemaCache{}
	s, err := avro.ParseWithCache(RecordSchema, "", cache)
	if err != nil {
		return nil, nil, fmt.Errorf("archive record schema: %w", err)
	}
	return s, cache, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Event returns the record as a stored event.
func (r *Record) Event() (eventstore.RecordedEvent, error) {
	id, err := uuid.Parse(r.EventID)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("archived event %s@%d: event id: %w", r.StreamID, r.Version, err)
	}
	return eventstore.RecordedEvent{
		Position: r.Position, TxID: uint64(r.TxID), StreamID: r.StreamID, StreamType: r.StreamType,
		Version: r.Version, ID: id, Type: r.EventType, Fingerprint: eventstore.Fingerprint(r.SchemaFingerprint),
		Payload: r.Payload, RecordedAt: r.RecordedAt.UTC(),
		Metadata: eventstore.Metadata{
			CorrelationID: str(r.CorrelationID), CausationID: str(r.CausationID),
			UserID: str(r.UserID), TraceParent: str(r.TraceParent),
		},
	}, nil
}

// StreamHash accumulates the per-stream checksum (see StreamChecksums): feed
// a stream's events in version order.
type StreamHash struct{ h hash.Hash }

// NewStreamHash returns an empty stream checksum.
func NewStreamHash() *StreamHash { return &StreamHash{h: sha256.New()} }

// Add adds one event, which must be the next in version order.
func (s *StreamHash) Add(r *Record) error {
	id, err := uuid.Parse(r.EventID)
	if err != nil {
		return fmt.Errorf("checksum %s@%d: %w", r.StreamID, r.Version, err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(r.Version))
	s.h.Write(b[:])
	s.h.Write(id[:])
	s.lenPrefixed([]byte(r.EventType))
	s.h.Write(r.SchemaFingerprint[:])
	s.lenPrefixed(r.Payload)
	meta := str(r.CorrelationID) + "\x1f" + str(r.CausationID) + "\x1f" + str(r.UserID) + "\x1f" + str(r.TraceParent)
	s.lenPrefixed([]byte(meta))
	binary.BigEndian.PutUint64(b[:], uint64(r.RecordedAt.UnixMicro()))
	s.h.Write(b[:])
	return nil
}

func (s *StreamHash) lenPrefixed(p []byte) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(len(p)))
	s.h.Write(b[:])
	s.h.Write(p)
}

// Sum returns the hex checksum.
func (s *StreamHash) Sum() string { return fmt.Sprintf("%x", s.h.Sum(nil)) }
