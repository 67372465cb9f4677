package projection

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/messaging"
)

// Register adds one handler per consumed event type to router. Each handler
// applies the event to the runner's projections in the consumer's
// transaction; a failure is counted in the projection's status and returned,
// so the consumer retries it (and eventually dead-letters it).
func (r *Runner) Register(router *messaging.Router) {
	for _, typ := range r.EventTypes() {
		messaging.HandleType(router, typ, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope, ev *any) error {
			e := FromEnvelope(msg, *ev)
			if err := r.Apply(ctx, tx, e); err != nil {
				if ctx.Err() == nil { // a shutdown is not a failure of the projection
					r.RecordFailure(context.WithoutCancel(ctx), e, err)
				}
				return err
			}
			return nil
		})
	}
}

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
