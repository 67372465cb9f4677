package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/inventory/app/command"
	"github.com/stratahq/strata/services/inventory/domain/reservation"
	"github.com/stratahq/strata/services/inventory/domain/stock"
)

// Stream types: product stock streams go to events.stock, reservation streams
// (the answers to the saga) to events.inventory.
const (
	StockStreamType       = "stock"
	ReservationStreamType = "inventory"
)

// StockStreamID returns the stream id of a product's stock.
func StockStreamID(productID string) string { return "stock-" + productID }

// ReservationStreamID returns the stream id of a reservation.
func ReservationStreamID(reservationID string) string { return "reservation-" + reservationID }

// Stocks is the event-store-backed command.Stocks.
type Stocks struct {
	repo *eventstore.Repository[*stock.Stock]
}

// Reservations is the event-store-backed command.Reservations.
type Reservations struct {
	repo *eventstore.Repository[*reservation.Reservation]
}

var (
	_ command.Stocks       = (*Stocks)(nil)
	_ command.Reservations = (*Reservations)(nil)
)

// NewStocks returns the product stock repository.
func NewStocks(store *eventstore.Store, types *serde.Registry) (*Stocks, error) {
	repo, err := eventstore.NewRepository(store, eventstore.RepositoryConfig[*stock.Stock]{
		StreamType: StockStreamType,
		Initial:    func(stream string) *stock.Stock { return stock.New(strings.TrimPrefix(stream, "stock-")) },
		Apply:      func(s *stock.Stock, ev any) (*stock.Stock, error) { return s, s.Apply(ev) },
		Encoder:    StoreEncoder(types),
		Decoder:    StoreDecoder(types),
		// A busy product's stream grows by every reservation and release:
		// loads start from a snapshot taken every 100 events.
		Snapshots: &eventstore.SnapshotCodec[*stock.Stock]{
			Version: 1,
			Encode:  func(s *stock.Stock) ([]byte, error) { return json.Marshal(s.Snapshot()) },
			Decode: func(b []byte) (*stock.Stock, error) {
				var sn stock.Snapshot
				if err := json.Unmarshal(b, &sn); err != nil {
					return nil, err
				}
				return stock.FromSnapshot(sn), nil
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("stock repository: %w", err)
	}
	return &Stocks{repo: repo}, nil
}

// Execute implements command.Stocks.
func (s *Stocks) Execute(ctx context.Context, productID string, meta command.Meta, decide func(*stock.Stock) ([]any, error)) error {
	stream := StockStreamID(productID)
	_, err := s.repo.Execute(ctx, stream, eventstore.Command[*stock.Stock](decide), options(ctx, meta, stream)...)
	return err
}

// Load returns a product's stock.
func (s *Stocks) Load(ctx context.Context, productID string) (*stock.Stock, error) {
	l, err := s.repo.Load(ctx, StockStreamID(productID))
	if err != nil {
		return nil, err
	}
	return l.State, nil
}

// NewReservations returns the reservation repository.
func NewReservations(store *eventstore.Store, types *serde.Registry) (*Reservations, error) {
	repo, err := eventstore.NewRepository(store, eventstore.RepositoryConfig[*reservation.Reservation]{
		StreamType: ReservationStreamType,
		Initial: func(stream string) *reservation.Reservation {
			return reservation.New(strings.TrimPrefix(stream, "reservation-"))
		},
		Apply:   func(r *reservation.Reservation, ev any) (*reservation.Reservation, error) { return r, r.Apply(ev) },
		Encoder: StoreEncoder(types),
		Decoder: StoreDecoder(types),
	})
	if err != nil {
		return nil, fmt.Errorf("reservation repository: %w", err)
	}
	return &Reservations{repo: repo}, nil
}

// Load implements command.Reservations.
func (r *Reservations) Load(ctx context.Context, reservationID string) (*reservation.Reservation, error) {
	l, err := r.repo.Load(ctx, ReservationStreamID(reservationID))
	if err != nil {
		return nil, err
	}
	return l.State, nil
}

// Execute implements command.Reservations.
func (r *Reservations) Execute(ctx context.Context, reservationID string, meta command.Meta, decide func(*reservation.Reservation) ([]any, error)) error {
	stream := ReservationStreamID(reservationID)
	_, err := r.repo.Execute(ctx, stream, eventstore.Command[*reservation.Reservation](decide), options(ctx, meta, stream)...)
	return err
}

func options(ctx context.Context, meta command.Meta, stream string) []eventstore.ExecOption {
	key := meta.CommandID
	if key != "" {
		key += "/" + meta.Part
	}
	return []eventstore.ExecOption{
		eventstore.WithEventIDs(func(i int) uuid.UUID { return EventID(key, stream, i) }),
		eventstore.WithMetadata(eventstore.Metadata{CorrelationID: meta.CorrelationID, CausationID: meta.CommandID, TraceParent: observe.TraceParent(ctx)}),
		eventstore.WithConflictRetries(20),
	}
}

// eventNamespace is the UUIDv5 namespace of event ids derived from command ids.
var eventNamespace = uuid.MustParse("9d2e51c4-1b7a-5f3e-8c61-2a4f0e7b9d13")

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
