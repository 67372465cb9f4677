package messaging

import (
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Kafka header names written by the relay. Values are UTF-8 strings.
const (
	HeaderEventType     = "event-type"     // Avro full name, e.g. shop.order.OrderPlaced
	HeaderEventID       = "event-id"       // the event's id (consumers deduplicate on it)
	HeaderCorrelationID = "correlation-id" // metadata.correlation id
	HeaderCausationID   = "causation-id"   // metadata.causation id
	HeaderTraceParent   = "traceparent"    // W3C trace context, when the event carried one
	HeaderContentType   = "content-type"   // always ContentTypeAvro
	HeaderSchemaVersion = "schema-version" // the writer schema's version under its subject in the registry
	HeaderStreamType    = "stream-type"    // the aggregate (stream) type
	HeaderStreamVersion = "stream-version" // the event's version within its stream
	HeaderPosition      = "position"       // the event's position in the global log
	HeaderRecordedAt    = "recorded-at"    // RFC 3339 (nanoseconds) commit time in the store
	HeaderUserID        = "user-id"        // metadata.user id, when set
)

// ContentTypeAvro is the content-type header of every relayed value: Avro
// binary in the Confluent wire format (magic byte 0, 4-byte big-endian
// registry schema id, Avro body).
const ContentTypeAvro = "application/vnd.apache.avro+binary; framing=confluent"

// Dead-letter headers, added to the original message's headers (which are
// kept, as are its key and value).
const (
	HeaderDLQError             = "dlq-error"              // the last error, as text
	HeaderDLQKind              = "dlq-error-kind"         // a PoisonKind
	HeaderDLQAttempts          = "dlq-attempts"           // attempts made, decimal
	HeaderDLQOriginalTopic     = "dlq-original-topic"     // topic the message was consumed from
	HeaderDLQOriginalPartition = "dlq-original-partition" // its partition, decimal
	HeaderDLQOriginalOffset    = "dlq-original-offset"    // its offset, decimal
	HeaderDLQFirstFailure      = "dlq-first-failure"      // RFC 3339 (nanoseconds)
	HeaderDLQLastFailure       = "dlq-last-failure"       // RFC 3339 (nanoseconds)
	HeaderDLQConsumerGroup     = "dlq-consumer-group"     // the group that gave up
)

// DLQSuffix is appended to a topic's name to name its dead-letter topic.
const DLQSuffix = ".dlq"

// Envelope is what a handler learns about a message besides its decoded event.
type Envelope struct {
	Topic         string
	Partition     int32
	Offset        int64
	Key           string
	Timestamp     time.Time // Kafka message timestamp
	EventID       string
	EventType     string // Avro full name of the writer schema
	CorrelationID string
	CausationID   string
	TraceParent   string
	UserID        string
	StreamType    string
	StreamVersion int64
	Position      int64
	SchemaID      uint32
	Attempt       int // 1 on the first delivery to the handler
	Headers       []kafka.Header
}

// Header returns the value of the first header named name, or "".
func Header(hs []kafka.Header, name string) string {
	for _, h := range hs {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

func envelopeOf(m *kafka.Message) Envelope {
	env := Envelope{
		Key:       string(m.Key),
		Timestamp: m.Timestamp,
		Headers:   m.Headers,
	}
	if m.TopicPartition.Topic != nil {
		env.Topic = *m.TopicPartition.Topic
	}
	env.Partition = m.TopicPartition.Partition
	env.Offset = int64(m.TopicPartition.Offset)
	for _, h := range m.Headers {
		v := string(h.Value)
		switch h.Key {
		case HeaderEventID:
			env.EventID = v
		case HeaderEventType:
			env.EventType = v
		case HeaderCorrelationID:
			env.CorrelationID = v
		case HeaderCausationID:
			env.CausationID = v
		case HeaderTraceParent:
			env.TraceParent = v
		case HeaderUserID:
			env.UserID = v
		case HeaderStreamType:
			env.StreamType = v
		case HeaderStreamVersion:
			env.StreamVersion, _ = strconv.ParseInt(v, 10, 64)
		case HeaderPosition:
			env.Position, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return env
}
