// Package serde encodes and decodes Strata's Avro messages through an explicit
// type registry, and frames them in the Confluent wire format.
//
// A [Type] ties an Avro full name (the event type, e.g. "shop.order.OrderPlaced")
// to its current schema, the schema's SHA-256 Parsing Canonical Form
// fingerprint and a constructor of the generated Go struct. A project's types
// are generated into <out>/events (events.Types(); the example shop's are in
// gen/events); a [Registry] is built from them explicitly, never from init():
//
//	reg, err := serde.NewRegistry(events.Types()...)
//	typ, body, err := reg.Encode(&order.OrderPlaced{...}) // Avro binary, typ.Name is the event type
//	v, err := reg.Decode(typ.Name, body)                   // *order.OrderPlaced
//
// Encode and Decode use the registry's current (reader) schema. To read a
// payload written with an older schema, use package upcasters, which resolves
// the writer schema and runs the semantic upcasters.
//
// [AppendWire] and [ParseWire] frame an Avro body in the Confluent wire format
// (magic byte 0, 4-byte big-endian schema id, body); [Registry.EncodeWire] does
// both in one buffer.
package serde
