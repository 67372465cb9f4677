package compat

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
)

// Parse parses an Avro schema text with a fresh name cache (avro.Parse
// shares one global cache, so names leak between unrelated schemas) and
// turns a panic inside hamba/avro's parser into an error: hamba v2.31.0
// dereferences a nil field when a field's default is a record value of a
// record type still being defined (a recursive reference), e.g.
//
//	{"type":"record","name":"R","fields":[
//	  {"name":"a","type":{"type":"record","name":"S","fields":[
//	    {"name":"r","type":["R","null"]}]},
//	   "default":{"r":{}}}]}
//
// Parse also refuses two kinds of schema on which hamba and Avro Java would
// not agree about what the schema is, because hamba resolves type names
// through aliases and Java never does: a reference that names no type but
// only an alias (Java resolves it elsewhere or fails), and an alias of one
// named type equal to the full name of another (hamba then resolves
// references to the other type to the aliased one). Every verdict on such a
// schema would be about a different schema than the one Java sees.
func Parse(text string) (avro.Schema, error) {
	return ParseWithReferences(text)
}

// ParseWithReferences is Parse for a schema that uses named types defined
// by other schemas (Confluent schema references): deps are parsed first, in
// order (a dependency's own dependencies before it), into the same fresh name
// cache.
func ParseWithReferences(text string, deps ...string) (s avro.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("avro: the schema parser failed: %v", r)
		}
	}()
	cache := &avro.SchemaCache{}
	defined := map[string]bool{}
	for i, dep := range deps {
		if _, err := avro.ParseWithCache(dep, "", cache); err != nil {
			return nil, fmt.Errorf("parse reference %d: %w", i, err)
		}
		var doc any
		if json.Unmarshal([]byte(dep), &doc) == nil {
			var ignored []string
			collectNames(doc, "", defined, &ignored)
		}
	}
	s, err = avro.ParseWithCache(text, "", cache)
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	if err := checkAliasShadowing(s); err != nil {
		return nil, err
	}
	var doc any
	if json.Unmarshal([]byte(text), &doc) == nil {
		var refs []string
		collectNames(doc, "", defined, &refs)
		for _, r := range refs {
			if !defined[r] {
				return nil, fmt.Errorf("parse schema: type %s is only the alias of a type; refer to the type by its name", r)
			}
		}
	}
	return s, nil
}

// checkAliasShadowing reports an alias equal to the full name of another
// named type of s.
func checkAliasShadowing(s avro.Schema) error {
	named := map[string]avro.NamedSchema{}
	var order []avro.NamedSchema
	var walk func(avro.Schema)
	walk = func(s avro.Schema) {
		switch t := s.(type) {
		case *avro.RecordSchema:
			if _, seen := named[t.FullName()]; seen {
				return
			}
			named[t.FullName()] = t
			order = append(order, t)
			for _, f := range t.Fields() {
				walk(f.Type())
			}
		case *avro.EnumSchema:
			named[t.FullName()] = t
			order = append(order, t)
		case *avro.FixedSchema:
			named[t.FullName()] = t
			order = append(order, t)
		case *avro.ArraySchema:
			walk(t.Items())
		case *avro.MapSchema:
			walk(t.Values())
		case *avro.UnionSchema:
			for _, b := range t.Types() {
				walk(b)
			}
		case *avro.RefSchema:
			walk(t.Schema())
		}
	}
	walk(s)
	for _, n := range order {
		for _, a := range n.Aliases() {
			if other, ok := named[a]; ok && other != n {
				return fmt.Errorf("parse schema: alias %s of %s is the name of another type of the schema; "+
					"references to %s would be resolved to %s (hamba/avro resolves names through aliases)",
					a, n.FullName(), a, n.FullName())
			}
		}
	}
	return nil
}

var primitiveNames = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// collectNames records the full names defined in a schema's JSON and the
// full names its references resolve to, with hamba's namespace rules.
func collectNames(v any, ns string, defined map[string]bool, refs *[]string) {
	full := func(name, ns string) (string, string) {
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			return name, name[:i]
		}
		if ns == "" {
			return name, ""
		}
		return ns + "." + name, ns
	}
	switch t := v.(type) {
	case string:
		if !primitiveNames[t] {
			f, _ := full(t, ns)
			*refs = append(*refs, f)
		}
	case []any:
		for _, b := range t {
			collectNames(b, ns, defined, refs)
		}
	case map[string]any:
		typ, isString := t["type"].(string)
		if !isString {
			collectNames(t["type"], ns, defined, refs)
			return
		}
		switch typ {
		case "record", "error", "enum", "fixed":
			name, _ := t["name"].(string)
			own, _ := t["namespace"].(string)
			if own == "" {
				own = ns
			}
			f, space := full(name, own)
			defined[f] = true
			fields, _ := t["fields"].([]any)
			for _, fv := range fields {
				if fm, ok := fv.(map[string]any); ok {
					collectNames(fm["type"], space, defined, refs)
				}
			}
		case "array":
			collectNames(t["items"], ns, defined, refs)
		case "map":
			collectNames(t["values"], ns, defined, refs)
		default:
			if !primitiveNames[typ] {
				f, _ := full(typ, ns)
				*refs = append(*refs, f)
			}
		}
	}
}
