package messaging

import (
	"fmt"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/registry/client"
)

// Registry is the part of a Confluent-compatible schema registry client the
// relay and the consumer use; the *srclient.SchemaRegistryClient that package
// registry/client builds (credentials and TLS from the environment)
// satisfies it.
type Registry interface {
	GetSchema(schemaID int) (*srclient.Schema, error)
	CreateSchema(subject string, schema string, schemaType srclient.SchemaType, references ...srclient.Reference) (*srclient.Schema, error)
	LookupSchema(subject string, schema string, schemaType srclient.SchemaType, references ...srclient.Reference) (*srclient.Schema, error)
}

var _ Registry = (*srclient.SchemaRegistryClient)(nil)

// registered is a writer schema's identity in the registry.
type registered struct {
	id      uint32
	version int
}

// schemaIDs caches, by store fingerprint, the registry id and version of each
// writer schema the relay has produced with. Subject = the schema's Avro full
// name (RecordNameStrategy).
type schemaIDs struct {
	reg Registry
	mu  sync.Mutex
	ids map[string]registered
}

func newSchemaIDs(reg Registry) *schemaIDs {
	return &schemaIDs{reg: reg, ids: make(map[string]registered)}
}

func (s *schemaIDs) cached(fingerprint string) (registered, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.ids[fingerprint]
	return r, ok
}

// resolve returns the writer schema's registry id and version: it looks the
// schema up under its subject and, only when register is set (development),
// registers it when the registry does not have it. A schema the registry
// refuses (incompatible or invalid; not registered while register is off)
// fails with a *SchemaRefusedError; a registry that cannot answer fails
// with another error.
func (s *schemaIDs) resolve(fingerprint, subject, schemaJSON string, register bool) (registered, error) {
	if r, ok := s.cached(fingerprint); ok {
		return r, nil
	}
	refused := func(err error, rule string) error {
		if rule == "" {
			rule = client.Message(err)
		}
		return &SchemaRefusedError{Subject: subject, Fingerprint: fingerprint, Code: client.Code(err), Rule: rule, Registering: register}
	}
	got, err := s.reg.LookupSchema(subject, schemaJSON, srclient.Avro)
	switch {
	case err == nil:
	case client.IsRefusal(err):
		return registered{}, refused(err, "")
	case !client.IsNotFound(err):
		return registered{}, fmt.Errorf("look up schema %s: %w", subject, err)
	case !register:
		return registered{}, refused(err, "writer schema not registered under the subject (register schemas at deploy: strata schema register)")
	default:
		if _, err := s.reg.CreateSchema(subject, schemaJSON, srclient.Avro); err != nil {
			if client.IsRefusal(err) {
				return registered{}, refused(err, "")
			}
			return registered{}, fmt.Errorf("register schema %s: %w", subject, err)
		}
		// CreateSchema answers without the version; look it up again.
		if got, err = s.reg.LookupSchema(subject, schemaJSON, srclient.Avro); err != nil {
			return registered{}, fmt.Errorf("look up registered schema %s: %w", subject, err)
		}
	}
	r := registered{id: uint32(got.ID()), version: got.Version()}
	s.mu.Lock()
	s.ids[fingerprint] = r
	s.mu.Unlock()
	return r, nil
}

// writerSchemas caches, by registry id, the parsed writer schemas the
// consumer has met.
type writerSchemas struct {
	reg Registry
	mu  sync.RWMutex
	m   map[uint32]writerSchema
}

type writerSchema struct {
	schema   avro.Schema
	fullName string
}

func newWriterSchemas(reg Registry) *writerSchemas {
	return &writerSchemas{reg: reg, m: make(map[uint32]writerSchema)}
}

// get returns the writer schema with registry id id. An id the registry does
// not know fails with ErrUnknownSchema; a registry that cannot be reached
// fails with a retryable error.
func (w *writerSchemas) get(id uint32) (writerSchema, error) {
	w.mu.RLock()
	ws, ok := w.m[id]
	w.mu.RUnlock()
	if ok {
		return ws, nil
	}
	got, err := w.reg.GetSchema(int(id))
	if err != nil {
		if client.IsNotFound(err) {
			return writerSchema{}, fmt.Errorf("schema id %d: %v: %w", id, err, ErrUnknownSchema)
		}
		return writerSchema{}, fmt.Errorf("get schema id %d: %w", id, err)
	}
	if got == nil {
		return writerSchema{}, fmt.Errorf("schema id %d: %w", id, ErrUnknownSchema)
	}
	sch, err := parseSchema(got.Schema())
	if err != nil {
		return writerSchema{}, fmt.Errorf("parse schema id %d: %v: %w", id, err, ErrUnknownSchema)
	}
	ws = writerSchema{schema: sch}
	if n, ok := sch.(avro.NamedSchema); ok {
		ws.fullName = n.FullName()
	}
	w.mu.Lock()
	w.m[id] = ws
	w.mu.Unlock()
	return ws, nil
}

// parseSchema parses an Avro schema with a cache of its own, so that two
// versions of one named record never meet in hamba's global cache.
func parseSchema(schemaJSON string) (avro.Schema, error) {
	return avro.ParseWithCache(schemaJSON, "", &avro.SchemaCache{})
}
