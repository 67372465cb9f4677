package projection

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/messaging"
)

// Register adds one handler per consumed event type to router. Each handler
// applies the event to the runner's projections in the consumer's
// transaction; a failure is returned, so the consumer retries it (and
// eventually dead-letters it), and counted in the projection's status by the
// router's failure hook, which runs after the failed transaction rolled back
// (recording it inside the handler would wait for a second pool connection
// while the failing transaction holds one: with as many failing partitions as
// connections, every worker would wait forever).
func (r *Runner) Register(router *messaging.Router) {
	for _, typ := range r.EventTypes() {
		messaging.HandleType(router, typ, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope, ev *any) error {
			return r.Apply(ctx, tx, FromEnvelope(msg, *ev))
		})
	}
	router.OnFailure(func(ctx context.Context, msg messaging.Envelope, err error) {
		if _, ok := r.byType[msg.EventType]; ok {
			// Bounded: a count that cannot be written must not hold up the retry.
			ctx, cancel := context.WithTimeout(ctx, recordFailureTimeout)
			defer cancel()
			r.RecordFailure(ctx, FromEnvelope(msg, nil), err)
		}
	})
}

// recordFailureTimeout bounds the status update of one failed attempt.
const recordFailureTimeout = 5 * time.Second

// FromEnvelope builds an Event from a consumed Kafka message and its decoded
// value. The stream id is the message key (the relay keys by stream id).
func FromEnvelope(msg messaging.Envelope, data any) Event {
	recorded := msg.Timestamp
	for _, h := range msg.Headers {
		if h.Key == messaging.HeaderRecordedAt {
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				recorded = t
			}
		}
	}
	return Event{
		ID: msg.EventID, Type: msg.EventType, StreamID: msg.Key, StreamType: msg.StreamType,
		Version: msg.StreamVersion, Position: msg.Position, RecordedAt: recorded, Data: data,
	}
}
