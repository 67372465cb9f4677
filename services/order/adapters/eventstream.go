package adapters

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// StreamType is the event store stream type of orders; the relay publishes
// their events to the Kafka topic events.order.
const StreamType = "order"

// StreamID returns the event store stream id of an order.
func StreamID(orderID string) string { return "order-" + orderID }

// Decoder turns a stored event into its current generated Go type, resolving
// the writer schema and running upcasters where needed.
type Decoder interface {
	DecodeRecorded(ctx context.Context, rec *eventstore.RecordedEvent) (any, error)
}

// OrderStream is the event-store-backed command.OrderStream.
type OrderStream struct {
	store   *eventstore.Store
	types   *serde.Registry
	decoder Decoder
}

var _ command.OrderStream = (*OrderStream)(nil)

// NewOrderStream returns an OrderStream; types encodes new events, decoder
// reads stored ones.
func NewOrderStream(store *eventstore.Store, types *serde.Registry, decoder Decoder) *OrderStream {
	return &OrderStream{store: store, types: types, decoder: decoder}
}

// eventNamespace is the UUIDv5 namespace of event ids derived from command ids.
var eventNamespace = uuid.MustParse("0b7a3c52-5f0e-4b8e-9a53-7f1e8a6c4d21")

// EventID is the id of the i-th event caused by commandID on stream: the same
// command retried produces the same ids, which the store appends only once.
func EventID(commandID, stream string, i int) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, fmt.Appendf(nil, "%s\x00%s\x00%d", commandID, stream, i))
}

const pageSize = 500

// Load reads the whole stream of the order (orders are short: no snapshots).
func (s *OrderStream) Load(ctx context.Context, id string) (*command.Loaded, error) {
	stream := StreamID(id)
	l := &command.Loaded{Order: order.New(id), Handled: map[string]command.Position{}}
	from := int64(1)
	for {
		recs, err := s.store.ReadStream(ctx, stream, from, pageSize)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, fmt.Errorf("load %s: %w", id, order.ErrNotFound)
		}
		if err != nil {
			return nil, classify(fmt.Errorf("load %s: %w", id, err))
		}
		for i := range recs {
			rec := &recs[i]
			ev, err := s.decoder.DecodeRecorded(ctx, rec)
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", id, err)
			}
			if err := l.Order.Apply(ev); err != nil {
				return nil, fmt.Errorf("load %s: version %d: %w", id, rec.Version, err)
			}
			p := command.Position{StreamID: id, Version: rec.Version, Cursor: rec.Cursor().String()}
			if rec.CausationID != "" {
				l.Handled[rec.CausationID] = p
			}
			l.Last = p
		}
		if len(recs) < pageSize {
			break
		}
		from = recs[len(recs)-1].Version + 1
	}
	if l.Order.Version() == 0 {
		return nil, fmt.Errorf("load %s: %w", id, order.ErrNotFound)
	}
	return l, nil
}

// Append encodes and appends events after version expected.
func (s *OrderStream) Append(ctx context.Context, id string, expected int64, meta command.Meta, evs []any) (command.Position, error) {
	stream := StreamID(id)
	data := make([]eventstore.EventData, len(evs))
	for i, ev := range evs {
		t, body, err := s.types.Encode(ev)
		if err != nil {
			return command.Position{}, fmt.Errorf("append %s: %w", id, err)
		}
		eid := uuid.Nil
		if meta.CommandID != "" {
			eid = EventID(meta.CommandID, stream, i)
		} else {
			eid = uuid.New()
		}
		data[i] = eventstore.EventData{
			ID:      eid,
			Type:    t.Name,
			Schema:  eventstore.Schema{Fingerprint: t.Fingerprint, Name: t.Name, JSON: t.JSON},
			Payload: body,
			Metadata: eventstore.Metadata{
				CorrelationID: meta.CorrelationID, CausationID: meta.CommandID,
				UserID: meta.UserID, TraceParent: meta.TraceParent,
			},
		}
	}
	exp := eventstore.Exact(expected)
	if expected == 0 {
		exp = eventstore.NoStream
	}
	res, err := s.store.Append(ctx, stream, StreamType, exp, data...)
	if errors.Is(err, eventstore.ErrVersionConflict) {
		return command.Position{}, fmt.Errorf("%w: %w", command.ErrConflict, err)
	}
	if err != nil {
		return command.Position{}, classify(fmt.Errorf("append %s: %w", id, err))
	}
	return command.Position{StreamID: id, Version: res.LastVersion(), Cursor: res.Cursor().String()}, nil
}

// classify marks errors that mean the database cannot be reached.
func classify(err error) error {
	if IsUnreachable(err) {
		return fmt.Errorf("%w: %w", command.ErrUnavailable, err)
	}
	return err
}

// IsUnreachable reports whether err means PostgreSQL could not be reached or
// the connection broke (as opposed to a statement that failed).
func IsUnreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &oe):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	case pgconn.SafeToRetry(err):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "57": // connection exception, operator intervention (shutdown)
			return true
		}
	}
	return false
}
