package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"github.com/stratahq/strata/compat"
	"strings"

	"github.com/hamba/avro/v2"
)

// SchemaTypeAvro is the only schema type this registry accepts. JSON Schema and
// Protobuf are refused with 42201 rather than stored unchecked.
const SchemaTypeAvro = "AVRO"

// Reference names a schema registered under another subject whose named types
// the referring schema uses (Confluent's schema references). Name is the full
// name of the referenced Avro type.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a registered schema: its global id, the text as first registered,
// its references and its parsed form.
type Schema struct {
	ID         int
	Type       string
	Text       string
	References []Reference
	Avro       avro.Schema
	// Canonical is the identity form (see canonicalForm); Fingerprint hashes it
	// with the schema type and the references.
	Canonical   string
	Fingerprint [32]byte

	// deps are the texts of the referenced schemas in dependency order.
	deps []string
	// refIDs are the ids of the referenced schemas, parallel to References.
	refIDs []int
}

// normalizeType maps the request's schemaType ("" means AVRO) to the stored one.
func normalizeType(t string) (string, error) {
	switch strings.ToUpper(t) {
	case "", SchemaTypeAvro:
		return SchemaTypeAvro, nil
	default:
		return "", newError(CodeInvalidSchema, "Invalid schema type %q: this registry supports AVRO only", t)
	}
}

// parseAvro parses text after the texts of its references, given in dependency
// order (a reference's own references come before it), so named types defined
// by the references are usable in text. Each call has its own name cache: the
// library's global cache would leak names between subjects.
func parseAvro(text string, deps []string) (avro.Schema, error) {
	if !json.Valid([]byte(text)) {
		return nil, newError(CodeInvalidSchema, "Invalid schema: not JSON")
	}
	// compat.ParseWithReferences is the parser the CI gate uses: panic-safe
	// (hamba v2.31.0 crashes on some recursive defaults) and refusing names that
	// hamba would resolve through aliases where Avro Java does not.
	s, err := compat.ParseWithReferences(text, deps...)
	if err != nil {
		return nil, newError(CodeInvalidSchema, "Invalid schema %s: %v", abbreviate(text), err)
	}
	return s, nil
}

// identify fills s.Canonical and s.Fingerprint from s.Avro, s.Type and s.References.
//
// Two schemas are the same schema (same id; no new version in a subject that
// already has it) when their canonical forms, types and references are equal.
// The canonical form is Avro's Parsing Canonical Form (full names, no
// namespace shorthand, attribute order and whitespace irrelevant, doc and
// custom properties dropped) plus what changes how data is read: field
// defaults, enum defaults, aliases and logical types (with precision and
// scale). A change to a doc string alone therefore is not a new version.
func (s *Schema) identify() error {
	b, err := s.Avro.(json.Marshaler).MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshal schema: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("decode schema json: %w", err)
	}
	canon, err := json.Marshal(canonicalForm(v))
	if err != nil {
		return fmt.Errorf("marshal canonical form: %w", err)
	}
	s.Canonical = string(canon)
	refs, err := json.Marshal(s.References)
	if err != nil {
		return fmt.Errorf("marshal references: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(s.Type))
	h.Write([]byte{0})
	h.Write(canon)
	h.Write([]byte{0})
	h.Write(refs)
	copy(s.Fingerprint[:], h.Sum(nil))
	return nil
}

// canonicalForm walks a schema's JSON (as the avro library marshals it: full
// names, referenced named types by name) keeping only identity attributes.
// json.Marshal sorts map keys, so the result is deterministic.
func canonicalForm(v any) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = canonicalForm(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		keep := func(keys ...string) {
			for _, k := range keys {
				if x, ok := t[k]; ok {
					out[k] = x
				}
			}
		}
		typ, _ := t["type"].(string)
		switch typ {
		case "record", "error":
			keep("name", "type", "aliases")
			raw, _ := t["fields"].([]any)
			fields := make([]any, 0, len(raw))
			for _, f := range raw {
				fm, _ := f.(map[string]any)
				nf := map[string]any{"name": fm["name"], "type": canonicalForm(fm["type"])}
				for _, k := range []string{"default", "aliases"} {
					if x, ok := fm[k]; ok {
						nf[k] = x
					}
				}
				fields = append(fields, nf)
			}
			out["fields"] = fields
		case "enum":
			keep("name", "type", "symbols", "default", "aliases")
		case "fixed":
			keep("name", "type", "size", "aliases", "logicalType", "precision", "scale")
		case "array":
			out["type"] = typ
			out["items"] = canonicalForm(t["items"])
		case "map":
			out["type"] = typ
			out["values"] = canonicalForm(t["values"])
		default:
			if typ == "" {
				return canonicalForm(t["type"])
			}
			keep("type", "logicalType", "precision", "scale")
			if len(out) == 1 {
				return typ
			}
		}
		return out
	default:
		return v
	}
}

func abbreviate(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
