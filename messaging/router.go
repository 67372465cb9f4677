package messaging

import (
	"context"
	"fmt"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/serde"
)

// Decoder brings an Avro payload written with any writer schema to the
// current Go type of eventType. upcasters' decoder satisfies it; so does
// NewResolvingDecoder (Avro schema resolution only).
type Decoder interface {
	Decode(eventType string, writerSchema avro.Schema, payload []byte) (any, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(eventType string, writerSchema avro.Schema, payload []byte) (any, error)

// Decode calls f.
func (f DecoderFunc) Decode(eventType string, writerSchema avro.Schema, payload []byte) (any, error) {
	return f(eventType, writerSchema, payload)
}

// NewResolvingDecoder decodes with Avro schema resolution from the writer
// schema to the type's current schema in types (no semantic upcasters). Use
// package upcasters where upcasters exist.
func NewResolvingDecoder(types *serde.Registry) Decoder {
	return &resolvingDecoder{types: types, resolved: map[resolveKey]avro.Schema{}}
}

type resolveKey struct {
	name   string
	writer [32]byte
}

type resolvingDecoder struct {
	types    *serde.Registry
	mu       sync.RWMutex
	resolved map[resolveKey]avro.Schema
}

func (d *resolvingDecoder) Decode(eventType string, writer avro.Schema, payload []byte) (any, error) {
	t, ok := d.types.ByName(eventType)
	if !ok {
		return nil, fmt.Errorf("decode %s: %w", eventType, &serde.UnknownTypeError{Name: eventType})
	}
	schema := t.Schema
	if fp := writer.Fingerprint(); fp != t.Fingerprint {
		key := resolveKey{eventType, fp}
		d.mu.RLock()
		r, ok := d.resolved[key]
		d.mu.RUnlock()
		if !ok {
			var err error
			if r, err = avro.NewSchemaCompatibility().Resolve(t.Schema, writer); err != nil {
				return nil, fmt.Errorf("resolve %s writer %x: %w", eventType, fp[:6], err)
			}
			d.mu.Lock()
			d.resolved[key] = r
			d.mu.Unlock()
		}
		schema = r
	}
	v := t.New()
	if err := d.types.UnmarshalWith(schema, payload, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return v, nil
}

// HandlerFunc handles one decoded event of type T inside tx. Its writes and
// the processed-event marker commit together; returning an error rolls both
// back and the message is retried (or sent to the dead-letter topic, at once
// when the error is wrapped with Permanent).
type HandlerFunc[T any] func(ctx context.Context, tx pgx.Tx, msg Envelope, ev *T) error

// handler is a type-erased HandlerFunc.
type handler func(ctx context.Context, tx pgx.Tx, msg Envelope, ev any) error

// Router maps event types (Avro full names) to handlers. Build it with
// NewRouter and Handle before NewConsumer; it is not safe to add handlers
// while a consumer runs.
type Router struct {
	types     *serde.Registry
	handlers  map[string]handler
	onFailure func(ctx context.Context, msg Envelope, err error)
	errs      []error
}

// OnFailure sets fn to be called after each failed handler attempt, once
// the attempt's transaction has rolled back and its connection is back in
// the pool (so fn may write in a transaction of its own without waiting for
// a second connection while the failed one holds the first). It is not
// called for attempts cut short by a shutdown.
func (r *Router) OnFailure(fn func(ctx context.Context, msg Envelope, err error)) { r.onFailure = fn }

// NewRouter returns an empty router resolving Go types through types.
func NewRouter(types *serde.Registry) *Router {
	return &Router{types: types, handlers: map[string]handler{}}
}

// Handle registers fn for the event type whose generated Go type is T (the
// name comes from the type registry, never from the Go type name).
// Registration problems are reported by NewConsumer.
func Handle[T any](r *Router, fn HandlerFunc[T]) {
	if r.types == nil {
		r.errs = append(r.errs, fmt.Errorf("router: no type registry for %T: %w", (*T)(nil), ErrConfig))
		return
	}
	t, err := r.types.TypeOf((*T)(nil))
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("router: %w: %w", ErrConfig, err))
		return
	}
	HandleType(r, t.Name, fn)
}

// HandleType registers fn for the named event type; the decoder must return
// a *T (or T) for it.
func HandleType[T any](r *Router, eventType string, fn HandlerFunc[T]) {
	if fn == nil {
		r.errs = append(r.errs, fmt.Errorf("router: nil handler for %s: %w", eventType, ErrConfig))
		return
	}
	if _, dup := r.handlers[eventType]; dup {
		r.errs = append(r.errs, fmt.Errorf("router: two handlers for %s: %w", eventType, ErrConfig))
		return
	}
	r.handlers[eventType] = func(ctx context.Context, tx pgx.Tx, msg Envelope, ev any) error {
		switch v := ev.(type) {
		case *T:
			return fn(ctx, tx, msg, v)
		case T:
			return fn(ctx, tx, msg, &v)
		default:
			return Permanent(fmt.Errorf("%s decoded to %T, handler wants %T: %w", eventType, ev, (*T)(nil), ErrDecode))
		}
	}
}

// EventTypes returns the event types with a handler.
func (r *Router) EventTypes() []string {
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	return out
}
