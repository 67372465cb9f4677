// Package answer lets a saga participant answer a repeated command with the
// outcome it already recorded.
//
// A participant records its answer to a command as an event on its own
// stream (PaymentAuthorized on payment-<id>), and the saga reads it as the
// reply. When the same request comes again under a new command id (the saga
// retried after a timeout, or an operator retried a parked saga), the
// participant's state already reflects it and it decides no new event; yet
// the saga waits for an answer to that command. Writer appends a copy of the
// recorded outcome event to a stream of its own (replies-<command id>, stream
// type "replies", published to events.replies) with the new command as its
// causation id: the saga gets its answer, and the participant's aggregate
// history and the projections of its topic are not touched.
//
// Event ids derive from the command id, so answering a redelivered command
// again is a no-op in the event store.
package answer

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
)

// StreamType of answer streams; the relay publishes them to events.replies.
const StreamType = "replies"

// StreamID is the stream that holds the answer to commandID.
func StreamID(commandID string) string { return "replies-" + commandID }

// Appender is the part of *eventstore.Store a Writer needs.
type Appender interface {
	Append(ctx context.Context, stream, streamType string, expected eventstore.Expected, events ...eventstore.EventData) (eventstore.AppendResult, error)
}

var _ Appender = (*eventstore.Store)(nil)

// Writer appends answers.
type Writer struct {
	store Appender
	types *serde.Registry
}

// New returns a Writer that encodes events with their current schema in types.
func New(store Appender, types *serde.Registry) *Writer { return &Writer{store: store, types: types} }

// namespace makes answer event ids deterministic.
var namespace = uuid.MustParse("1b7e3c52-95c4-5d0f-9c8e-7a4d2f61b0c3")

// Answer appends ev (the outcome recorded for an earlier command asking the
// same) as the answer to commandID. A command without an id (not sent by a
// saga) needs no answer.
func (w *Writer) Answer(ctx context.Context, commandID, correlationID string, ev any) error {
	if commandID == "" || ev == nil {
		return nil
	}
	t, payload, err := w.types.Encode(ev)
	if err != nil {
		return fmt.Errorf("answer %s: encode %T: %w", commandID, ev, err)
	}
	sc := eventstore.Schema{Fingerprint: t.Fingerprint, Name: t.Name, JSON: t.JSON}
	_, err = w.store.Append(ctx, StreamID(commandID), StreamType, eventstore.NoStream, eventstore.EventData{
		ID: uuid.NewSHA1(namespace, []byte(commandID)), Type: sc.Name, Schema: sc, Payload: payload,
		Metadata: eventstore.Metadata{CorrelationID: correlationID, CausationID: commandID, TraceParent: observe.TraceParent(ctx)},
	})
	if err != nil {
		return fmt.Errorf("answer %s: %w", commandID, err)
	}
	return nil
}
