package adapters

import (
	"context"
	"fmt"

	"github.com/hamba/avro/v2"
	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/serde"
)

// Upcaster reads a payload written with an older writer schema into the
// current Go type of eventType (package upcasters provides one).
type Upcaster func(eventType string, writer avro.Schema, payload []byte) (any, error)

// StoreDecoder decodes stored events: those written with the current schema
// directly through the type registry, older ones by looking their writer
// schema up in the store and handing it to the upcaster.
type StoreDecoder struct {
	store  *eventstore.Store
	types  *serde.Registry
	upcast Upcaster
}

var _ Decoder = (*StoreDecoder)(nil)

// NewStoreDecoder returns a decoder; upcast may be nil when only current
// schemas are expected (older ones then fail to decode).
func NewStoreDecoder(store *eventstore.Store, types *serde.Registry, upcast Upcaster) *StoreDecoder {
	return &StoreDecoder{store: store, types: types, upcast: upcast}
}

// DecodeRecorded implements Decoder.
func (d *StoreDecoder) DecodeRecorded(ctx context.Context, rec *eventstore.RecordedEvent) (any, error) {
	t, ok := d.types.ByName(rec.Type)
	if ok && t.Fingerprint == rec.Fingerprint {
		v, err := d.types.Decode(rec.Type, rec.Payload)
		if err != nil {
			return nil, &eventstore.DecodeError{Stream: rec.StreamID, Version: rec.Version, Type: rec.Type, Err: err}
		}
		return v, nil
	}
	if d.upcast == nil {
		return nil, &eventstore.DecodeError{Stream: rec.StreamID, Version: rec.Version, Type: rec.Type,
			Err: fmt.Errorf("writer schema %s is not the current one and no upcaster is configured", eventstore.Fingerprint(rec.Fingerprint))}
	}
	sc, err := d.store.Schema(ctx, rec.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("decode %s@%d: %w", rec.StreamID, rec.Version, err)
	}
	writer, err := avro.Parse(sc.JSON)
	if err != nil {
		return nil, &eventstore.DecodeError{Stream: rec.StreamID, Version: rec.Version, Type: rec.Type, Err: err}
	}
	v, err := d.upcast(rec.Type, writer, rec.Payload)
	if err != nil {
		return nil, &eventstore.DecodeError{Stream: rec.StreamID, Version: rec.Version, Type: rec.Type, Err: err}
	}
	return v, nil
}
