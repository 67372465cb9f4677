package serde

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"sync"

	"github.com/hamba/avro/v2"
)

// ErrUnknownType is returned (wrapped in an [*UnknownTypeError]) when a name,
// fingerprint or Go value has no [Type] in the registry.
var ErrUnknownType = errors.New("serde: unknown type")

// ErrInvalidType is returned by [NewRegistry] for a malformed or duplicate [Type].
var ErrInvalidType = errors.New("serde: invalid type")

// UnknownTypeError says which name or Go type was not found.
type UnknownTypeError struct {
	Name   string       // Avro full name looked up, if any
	GoType reflect.Type // Go type looked up, if any
}

func (e *UnknownTypeError) Error() string {
	if e.GoType != nil {
		return fmt.Sprintf("serde: unknown type: no Avro type registered for Go type %v", e.GoType)
	}
	return fmt.Sprintf("serde: unknown type %q", e.Name)
}

// Unwrap returns [ErrUnknownType].
func (e *UnknownTypeError) Unwrap() error { return ErrUnknownType }

// Decoding limits. hamba allocates an array's elements from the count in the
// payload before reading them, so without a limit a 12-byte corrupt message
// can ask for terabytes and crash the process (found by FuzzDecode). A
// payload beyond these limits is a decode error, not a crash.
const (
	MaxArrayLen = 1 << 20 // elements in one array
	MaxBytesLen = 8 << 20 // bytes in one string or bytes value
)

// Type is one Avro message type: its full name, current schema and Go type.
type Type struct {
	// Name is the Avro full name, e.g. "shop.order.OrderPlaced". It is the
	// event type everywhere (store column, Kafka header).
	Name string
	// Schema is the parsed current schema (docs and defaults kept).
	Schema avro.Schema
	// JSON is the full, self-contained schema text (named types inlined at
	// their first use), as registered in the schema registry.
	JSON string
	// Fingerprint is the SHA-256 of the schema's Parsing Canonical Form
	// (hamba's Schema.Fingerprint()).
	Fingerprint [32]byte
	// New returns a pointer to a new zero value of the generated Go struct.
	New func() any
}

// Registry finds types by name, fingerprint or Go value and encodes and
// decodes them. It is safe for concurrent use.
type Registry struct {
	api    avro.API
	types  []Type
	byName map[string]int
	byFP   map[[32]byte]int
	byGo   map[reflect.Type]int
	pool   sync.Pool // *avro.Writer
	rpool  sync.Pool // *avro.Reader
}

// NewRegistry checks the types and indexes them. A duplicate name, duplicate
// fingerprint or Go type, a missing schema or constructor, a constructor that
// does not return a pointer, or a fingerprint that does not match the schema
// is an error wrapping [ErrInvalidType]; all problems are reported at once.
func NewRegistry(types ...Type) (*Registry, error) {
	r := &Registry{
		api:    avro.Config{MaxSliceAllocSize: MaxArrayLen, MaxByteSliceSize: MaxBytesLen}.Freeze(),
		types:  make([]Type, 0, len(types)),
		byName: make(map[string]int, len(types)),
		byFP:   make(map[[32]byte]int, len(types)),
		byGo:   make(map[reflect.Type]int, len(types)),
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidType}, args...)...))
	}
	for i, t := range types {
		if t.Name == "" {
			bad("type #%d has no name", i)
			continue
		}
		if t.Schema == nil {
			bad("%s: no schema", t.Name)
			continue
		}
		named, ok := t.Schema.(avro.NamedSchema)
		if !ok || named.FullName() != t.Name {
			bad("%s: schema is not the named type %s", t.Name, t.Name)
			continue
		}
		if fp := t.Schema.Fingerprint(); fp != t.Fingerprint {
			bad("%s: fingerprint %x does not match the schema's %x", t.Name, t.Fingerprint, fp)
			continue
		}
		if t.New == nil {
			bad("%s: no constructor", t.Name)
			continue
		}
		rt := reflect.TypeOf(t.New())
		if rt == nil || rt.Kind() != reflect.Pointer {
			bad("%s: New returns %v, want a pointer", t.Name, rt)
			continue
		}
		if _, dup := r.byName[t.Name]; dup {
			bad("duplicate type name %s", t.Name)
			continue
		}
		if j, dup := r.byFP[t.Fingerprint]; dup {
			bad("%s: same fingerprint as %s", t.Name, r.types[j].Name)
			continue
		}
		if j, dup := r.byGo[rt.Elem()]; dup {
			bad("%s: Go type %v already registered for %s", t.Name, rt.Elem(), r.types[j].Name)
			continue
		}
		idx := len(r.types)
		r.types = append(r.types, t)
		r.byName[t.Name] = idx
		r.byFP[t.Fingerprint] = idx
		r.byGo[rt.Elem()] = idx
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.pool.New = func() any { return avro.NewWriter(nil, 512, avro.WithWriterConfig(r.api)) }
	r.rpool.New = func() any { return avro.NewReader(nil, 0, avro.WithReaderConfig(r.api)) }
	return r, nil
}

// Types returns the registered types sorted by name.
func (r *Registry) Types() []Type {
	out := make([]Type, len(r.types))
	copy(out, r.types)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ByName returns the type with the Avro full name.
func (r *Registry) ByName(name string) (Type, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Type{}, false
	}
	return r.types[i], true
}

// ByFingerprint returns the type whose current schema has the fingerprint.
// Historical schemas are not known here (see package upcasters).
func (r *Registry) ByFingerprint(fp [32]byte) (Type, bool) {
	i, ok := r.byFP[fp]
	if !ok {
		return Type{}, false
	}
	return r.types[i], true
}

// TypeOf returns the type of a generated Go value, given as a pointer or not.
func (r *Registry) TypeOf(v any) (Type, error) {
	rt := reflect.TypeOf(v)
	if rt != nil && rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	i, ok := r.byGo[rt]
	if !ok {
		return Type{}, &UnknownTypeError{GoType: reflect.TypeOf(v)}
	}
	return r.types[i], nil
}

// Encode encodes v (a generated struct or a pointer to one) with its current
// schema and returns its type and the Avro binary body.
func (r *Registry) Encode(v any) (Type, []byte, error) {
	return r.AppendEncode(nil, v)
}

// AppendEncode is [Registry.Encode] appending the body to dst.
func (r *Registry) AppendEncode(dst []byte, v any) (Type, []byte, error) {
	t, err := r.TypeOf(v)
	if err != nil {
		return Type{}, dst, fmt.Errorf("encode: %w", err)
	}
	if isNilPointer(v) {
		return Type{}, dst, fmt.Errorf("encode %s: nil pointer", t.Name)
	}
	out, err := r.appendWith(dst, t.Schema, v)
	if err != nil {
		return Type{}, dst, fmt.Errorf("encode %s: %w", t.Name, err)
	}
	return t, out, nil
}

// MarshalWith encodes v (a Go struct, or a map[string]any for a record) with
// any schema, e.g. a historical one, using the registry's codec cache.
func (r *Registry) MarshalWith(schema avro.Schema, v any) ([]byte, error) {
	return r.appendWith(nil, schema, v)
}

func (r *Registry) appendWith(dst []byte, schema avro.Schema, v any) ([]byte, error) {
	w := r.pool.Get().(*avro.Writer)
	w.Reset(nil)
	w.WriteVal(schema, v)
	if err := w.Error; err != nil {
		w.Error = nil
		r.pool.Put(w)
		return dst, err
	}
	dst = append(dst, w.Buffer()...)
	r.pool.Put(w)
	return dst, nil
}

// ErrTruncated and ErrTrailingBytes are the payload errors [Registry.Decode]
// and [Registry.UnmarshalWith] add to hamba's: hamba's own Unmarshal treats
// a payload that ends early as success, and ignores bytes left over (which
// usually means the wrong schema).
var (
	ErrTruncated     = errors.New("serde: payload ends before the value does")
	ErrTrailingBytes = errors.New("serde: bytes left over after the value")
)

// UnmarshalWith decodes payload, written with schema, into v (a pointer to a
// Go struct, or to a map[string]any / any for generic decoding). A payload
// that ends early or has bytes left over is an error. With a resolved schema
// (avro.SchemaCompatibility.Resolve) it reads older writer data into the
// current Go types.
func (r *Registry) UnmarshalWith(schema avro.Schema, payload []byte, v any) error {
	rd := r.rpool.Get().(*avro.Reader)
	rd.Reset(payload)
	rd.ReadVal(schema, v)
	err := rd.Error
	if err == nil {
		rd.Peek()
		if rd.Error == nil {
			err = ErrTrailingBytes
		}
	} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	rd.Error = nil
	rd.Reset(nil)
	r.rpool.Put(rd)
	return err
}

// EncodeWire appends to dst the Confluent wire frame (magic byte, schemaID)
// and the Avro body of v, in one buffer.
func (r *Registry) EncodeWire(dst []byte, schemaID int, v any) (Type, []byte, error) {
	start := len(dst)
	dst = appendHeader(dst, schemaID)
	t, out, err := r.AppendEncode(dst, v)
	if err != nil {
		return Type{}, dst[:start], err
	}
	return t, out, nil
}

// Decode decodes an Avro body written with the current schema of the named
// type and returns a pointer to the generated Go value.
func (r *Registry) Decode(name string, payload []byte) (any, error) {
	t, ok := r.ByName(name)
	if !ok {
		return nil, fmt.Errorf("decode: %w", &UnknownTypeError{Name: name})
	}
	v := t.New()
	if err := r.UnmarshalWith(t.Schema, payload, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return v, nil
}

// DecodeInto decodes an Avro body written with the current schema of v's
// type into v, which must be a pointer to a generated struct.
func (r *Registry) DecodeInto(payload []byte, v any) error {
	t, err := r.TypeOf(v)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if reflect.TypeOf(v).Kind() != reflect.Pointer || isNilPointer(v) {
		return fmt.Errorf("decode %s: want a non-nil pointer, got %T", t.Name, v)
	}
	if err := r.UnmarshalWith(t.Schema, payload, v); err != nil {
		return fmt.Errorf("decode %s: %w", t.Name, err)
	}
	return nil
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
