package compat

import (
	"fmt"

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
// Parse also refuses a schema in which an alias of one named type is the
// full name of another named type of the schema. Avro Java accepts it, but
// hamba resolves names through aliases, so a later reference to the other
// type would silently point at the aliased one and every verdict on the
// schema would be about a different schema.
func Parse(text string) (s avro.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("avro: the schema parser failed: %v", r)
		}
	}()
	s, err = avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	if err := checkAliasShadowing(s); err != nil {
		return nil, err
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
