package adapters

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

// StreamType of payment streams: the relay publishes them to events.payment.
const StreamType = "payment"

// StreamID returns the event store stream id of a payment.
func StreamID(paymentID string) string { return "payment-" + paymentID }

// Payments is the event-store-backed command.Payments.
type Payments struct {
	repo *eventstore.Repository[*payment.Payment]
}

var _ command.Payments = (*Payments)(nil)

// NewPayments returns the payment repository over store; types encodes and
// decodes events (older writer schemas through Avro resolution).
func NewPayments(store *eventstore.Store, types *serde.Registry) (*Payments, error) {
	repo, err := eventstore.NewRepository(store, eventstore.RepositoryConfig[*payment.Payment]{
		StreamType: StreamType,
		Initial:    func(stream string) *payment.Payment { return payment.New(trimPrefix(stream, "payment-")) },
		Apply: func(p *payment.Payment, ev any) (*payment.Payment, error) {
			return p, p.Apply(ev)
		},
		Encoder: StoreEncoder(types),
		Decoder: StoreDecoder(types),
	})
	if err != nil {
		return nil, fmt.Errorf("payments repository: %w", err)
	}
	return &Payments{repo: repo}, nil
}

// Execute implements command.Payments.
func (p *Payments) Execute(ctx context.Context, paymentID string, meta command.Meta, decide func(*payment.Payment) ([]any, error)) error {
	stream := StreamID(paymentID)
	_, err := p.repo.Execute(ctx, stream, eventstore.Command[*payment.Payment](decide),
		eventstore.WithEventIDs(func(i int) uuid.UUID { return EventID(meta.CommandID, stream, i) }),
		eventstore.WithMetadata(eventstore.Metadata{CorrelationID: meta.CorrelationID, CausationID: meta.CommandID, TraceParent: observe.TraceParent(ctx)}),
		eventstore.WithConflictRetries(5))
	return err
}

// Load returns the current state of a payment (a NEW one when it has no events).
func (p *Payments) Load(ctx context.Context, paymentID string) (*payment.Payment, error) {
	l, err := p.repo.Load(ctx, StreamID(paymentID))
	if err != nil {
		return nil, err
	}
	return l.State, nil
}

// eventNamespace is the UUIDv5 namespace of event ids derived from command ids.
var eventNamespace = uuid.MustParse("3f0b8d0e-7c1a-5a57-b1a4-51b0c3e6e0a2")

// EventID is the id of the i-th event caused by commandID on stream: a
// redelivered command re-appends the same ids, which the store ignores.
func EventID(commandID, stream string, i int) uuid.UUID {
	if commandID == "" {
		return uuid.New()
	}
	return uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", commandID, stream, i))
}

// StoreEncoder encodes events with their current schema through types.
func StoreEncoder(types *serde.Registry) eventstore.Encoder {
	return eventstore.EncoderFunc(func(v any) (eventstore.Schema, []byte, error) {
		t, body, err := types.Encode(v)
		if err != nil {
			return eventstore.Schema{}, nil, err
		}
		return eventstore.Schema{Fingerprint: t.Fingerprint, Name: t.Name, JSON: t.JSON}, body, nil
	})
}

// StoreDecoder decodes stored events; an older writer schema is resolved to
// the current one (Avro schema resolution).
func StoreDecoder(types *serde.Registry) eventstore.Decoder {
	return eventstore.DecoderFunc(func(eventType string, writer eventstore.Schema, payload []byte) (any, error) {
		t, ok := types.ByName(eventType)
		if !ok {
			return nil, &serde.UnknownTypeError{Name: eventType}
		}
		if t.Fingerprint == writer.Fingerprint {
			return types.Decode(eventType, payload)
		}
		ws, err := avro.Parse(writer.JSON)
		if err != nil {
			return nil, fmt.Errorf("writer schema of %s: %w", eventType, err)
		}
		resolved, err := avro.NewSchemaCompatibility().Resolve(t.Schema, ws)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", eventType, err)
		}
		v := t.New()
		if err := types.UnmarshalWith(resolved, payload, v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", eventType, err)
		}
		return v, nil
	})
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
