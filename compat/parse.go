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
	return s, nil
}
