package upcasters

import (
	"errors"
	"fmt"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/serde"
)

// Decoder decodes a payload written with writerSchema into the current Go
// type of eventType (a pointer to the generated struct). *Upcaster is the
// implementation; the event store's repository and the consumers depend on
// this interface.
type Decoder interface {
	Decode(eventType string, writerSchema avro.Schema, payload []byte) (any, error)
}

var _ Decoder = (*Upcaster)(nil)

// ErrNoUpcastPath is wrapped by the error returned when a writer schema
// cannot be brought to the current type: it is neither the current schema
// nor a version a chain declares.
var ErrNoUpcastPath = errors.New("upcasters: no path from the writer schema to the current type")

// ErrInvalidChain is wrapped by the errors [New] returns for a malformed chain.
var ErrInvalidChain = errors.New("upcasters: invalid chain")

// NoPathError says which event type and writer schema have no path.
type NoPathError struct {
	EventType   string
	Fingerprint [32]byte // of the writer schema
	Err         error    // why: undeclared, or the declared path failed
}

func (e *NoPathError) Error() string {
	return fmt.Sprintf("upcasters: no path from writer schema %x of %s to the current type: %v", e.Fingerprint[:8], e.EventType, e.Err)
}

// Unwrap returns ErrNoUpcastPath and the resolution error.
func (e *NoPathError) Unwrap() []error { return []error{ErrNoUpcastPath, e.Err} }

// Step is a semantic upcaster: a pure function that takes a record decoded
// with one version's schema (Avro's generic form: records are
// map[string]any, arrays []any, enums string, nullable unions the value or
// nil, timestamp-millis time.Time) and returns it in the shape of the next
// version. It may modify and return its argument.
type Step func(rec map[string]any) (map[string]any, error)

// Version is one historical writer schema of an event type.
type Version struct {
	// Version numbers a chain's versions consecutively; the current schema
	// is the last historical version + 1.
	Version int
	// Schema is the self-contained writer schema JSON of this version.
	Schema string
	// Up brings a record of this version to the next. Nil means the change
	// is structural only and Avro schema resolution performs it.
	Up Step
}

// Chain is the history of one event type, oldest version first.
type Chain struct {
	EventType string
	Versions  []Version
}

// Upcaster implements [Decoder]. It is safe for concurrent use.
type Upcaster struct {
	reg    *serde.Registry
	chains map[string]*chain
	byFP   map[[32]byte]historical
	compat *avro.SchemaCompatibility
}

type chain struct {
	eventType string
	current   serde.Type
	versions  []version
}

type version struct {
	number   int
	schema   avro.Schema
	up       Step
	resolved avro.Schema // when up is nil: next version's schema resolved against this one
}

type historical struct {
	chain *chain
	index int
}

// New builds an Upcaster over the registry's current types and the given
// chains. It checks every chain up front: the event type is registered,
// versions are consecutive, each schema parses, names the event type and is
// not the current schema, and each structural step (Up == nil) resolves into
// the next version. All problems are reported at once, wrapping
// [ErrInvalidChain].
func New(reg *serde.Registry, chains ...Chain) (*Upcaster, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registry", ErrInvalidChain)
	}
	u := &Upcaster{
		reg:    reg,
		chains: make(map[string]*chain, len(chains)),
		byFP:   map[[32]byte]historical{},
		compat: avro.NewSchemaCompatibility(),
	}
	var errs []error
	for _, c := range chains {
		if err := u.add(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return u, nil
}

func (u *Upcaster) add(c Chain) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalidChain, c.EventType}, args...)...)
	}
	cur, ok := u.reg.ByName(c.EventType)
	if !ok {
		return bad("not a registered type")
	}
	if _, dup := u.chains[c.EventType]; dup {
		return bad("two chains")
	}
	if len(c.Versions) == 0 {
		return bad("no versions")
	}
	ch := &chain{eventType: c.EventType, current: cur}
	var errs []error
	for i, v := range c.Versions {
		if i > 0 && v.Version != c.Versions[i-1].Version+1 {
			errs = append(errs, bad("version %d follows %d; versions must be consecutive", v.Version, c.Versions[i-1].Version))
		}
		s, err := ParseSchema(v.Schema)
		if err != nil {
			errs = append(errs, bad("v%d: %w", v.Version, err))
			continue
		}
		if n, ok := s.(avro.NamedSchema); !ok || n.FullName() != c.EventType {
			errs = append(errs, bad("v%d: schema does not define %s", v.Version, c.EventType))
			continue
		}
		fp := s.Fingerprint()
		if fp == cur.Fingerprint {
			errs = append(errs, bad("v%d: is the current schema", v.Version))
			continue
		}
		if h, dup := u.byFP[fp]; dup {
			errs = append(errs, bad("v%d: same schema as %s v%d", v.Version, h.chain.eventType, h.chain.versions[h.index].number))
			continue
		}
		u.byFP[fp] = historical{chain: ch, index: len(ch.versions)}
		ch.versions = append(ch.versions, version{number: v.Version, schema: s, up: v.Up})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i := range ch.versions {
		v := &ch.versions[i]
		if v.up != nil {
			continue
		}
		next := ch.current.Schema
		if i+1 < len(ch.versions) {
			next = ch.versions[i+1].schema
		}
		// The gate's checker must accept the step too: hamba's resolver is
		// more lenient in places (e.g. it does not compare named types'
		// names), and the runtime follows the gate's verdicts.
		if probs := compat.ReaderWriter(next, v.schema); len(probs) > 0 {
			errs = append(errs, bad("v%d has no Up step and package compat refuses reading it with v%d: %s", v.number, v.number+1, probs[0]))
			continue
		}
		r, err := u.compat.Resolve(next, v.schema)
		if err != nil {
			errs = append(errs, bad("v%d has no Up step and does not resolve into v%d: %w", v.number, v.number+1, err))
			continue
		}
		v.resolved = r
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	u.chains[c.EventType] = ch
	return nil
}

// Decode implements [Decoder].
func (u *Upcaster) Decode(eventType string, writerSchema avro.Schema, payload []byte) (any, error) {
	cur, ok := u.reg.ByName(eventType)
	if !ok {
		return nil, fmt.Errorf("upcast: %w", &serde.UnknownTypeError{Name: eventType})
	}
	if writerSchema == nil {
		return nil, fmt.Errorf("upcast %s: nil writer schema", eventType)
	}
	fp := writerSchema.Fingerprint()
	if fp == cur.Fingerprint {
		v, err := u.reg.Decode(eventType, payload)
		if err != nil {
			return nil, fmt.Errorf("upcast: %w", err)
		}
		return v, nil
	}
	if h, ok := u.byFP[fp]; ok && h.chain.eventType == eventType {
		return u.upcast(h.chain, h.index, payload)
	}
	// Nothing else is a path: Avro resolution with silent defaults is used
	// only for the versions a chain declares (Up == nil), which New checked.
	return nil, fmt.Errorf("upcast: %w", &NoPathError{EventType: eventType, Fingerprint: fp, Err: errUndeclared})
}

// errUndeclared is the reason of a NoPathError for a writer schema that is
// neither current nor a version of the type's chain.
var errUndeclared = errors.New("undeclared writer schema (declare it as a chain version: with an Up step, or Up nil for Avro resolution; strata schema verify lists them)")

// upcast runs a chain from version index i to the current type.
func (u *Upcaster) upcast(ch *chain, i int, payload []byte) (any, error) {
	from := ch.versions[i]
	var rec map[string]any
	if err := u.reg.UnmarshalWith(from.schema, payload, &rec); err != nil {
		return nil, fmt.Errorf("upcast %s v%d: decode: %w", ch.eventType, from.number, err)
	}
	for k := i; k < len(ch.versions); k++ {
		v := ch.versions[k]
		if v.up != nil {
			out, err := v.up(rec)
			if err != nil {
				return nil, fmt.Errorf("upcast %s v%d to v%d: %w", ch.eventType, v.number, v.number+1, err)
			}
			rec = out
			continue
		}
		b, err := u.reg.MarshalWith(v.schema, rec)
		if err != nil {
			return nil, fmt.Errorf("upcast %s v%d: re-encode: %w", ch.eventType, v.number, err)
		}
		rec = nil
		if err := u.reg.UnmarshalWith(v.resolved, b, &rec); err != nil {
			return nil, fmt.Errorf("upcast %s v%d to v%d: resolve: %w", ch.eventType, v.number, v.number+1, err)
		}
	}
	b, err := u.reg.MarshalWith(ch.current.Schema, rec)
	if err != nil {
		return nil, fmt.Errorf("upcast %s v%d: result does not fit the current schema: %w", ch.eventType, from.number, err)
	}
	out := ch.current.New()
	if err := u.reg.UnmarshalWith(ch.current.Schema, b, out); err != nil {
		return nil, fmt.Errorf("upcast %s v%d: decode result: %w", ch.eventType, from.number, err)
	}
	return out, nil
}

// WriterSchema returns the schema with the fingerprint among the current
// schemas and every chain's historical versions, for callers that stored only
// a fingerprint.
func (u *Upcaster) WriterSchema(fp [32]byte) (avro.Schema, bool) {
	if t, ok := u.reg.ByFingerprint(fp); ok {
		return t.Schema, true
	}
	if h, ok := u.byFP[fp]; ok {
		return h.chain.versions[h.index].schema, true
	}
	return nil, false
}

// Version returns the version number of a writer schema of eventType: a
// chain's historical version, or for the current schema the last historical
// version + 1 (1 when the type has no chain). ok is false for a schema that
// is neither.
func (u *Upcaster) Version(eventType string, fp [32]byte) (n int, ok bool) {
	cur, found := u.reg.ByName(eventType)
	if !found {
		return 0, false
	}
	ch := u.chains[eventType]
	if fp == cur.Fingerprint {
		if ch == nil {
			return 1, true
		}
		return ch.versions[len(ch.versions)-1].number + 1, true
	}
	if h, ok := u.byFP[fp]; ok && h.chain.eventType == eventType {
		return h.chain.versions[h.index].number, true
	}
	return 0, false
}

// ParseSchema parses a self-contained schema JSON with a private cache, so
// historical definitions of a named type never replace the current ones in
// hamba's global cache.
func ParseSchema(schemaJSON string) (avro.Schema, error) {
	s, err := avro.ParseWithCache(schemaJSON, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	return s, nil
}
