// Package upcasters reads any stored version of an event into today's
// generated Go type.
//
// A payload is always decoded with the schema it was written with (the event
// store keeps each row's writer schema; a Kafka consumer gets it from the
// schema registry by id). Then:
//
//   - the writer schema is the current one: plain decode (the fast path);
//   - the writer schema is a known historical version of the event type (a
//     [Chain] lists them, with their historical schemas):
//     the payload is decoded generically (map[string]any) and each version's
//     step brings it to the next version: a pure Go function for a semantic
//     change (units, splits, renames), or Avro schema resolution when Up is
//     nil (fields added with defaults, removed, promoted); the result is
//     encoded with the current schema and decoded into the Go type;
//   - any other writer schema has no path: the error wraps [ErrNoUpcastPath].
//     Avro resolution that fills defaults is never an implicit fallback: a
//     structural change (a field added with a default) is declared as a
//     chain version with Up nil, which New accepts only when package compat
//     (the schema gate's checker) does. `strata schema verify` proves that
//     every stored writer schema is current or declared.
//
// Start with the chains of your evolved events (the order shop's are in
// services/order/upcast, an example):
//
//	reg, _ := serde.NewRegistry(events.Types()...)
//	up, err := upcasters.New(reg, upcast.Chains()...)
//	v, err := up.Decode("shop.order.OrderPlaced", writerSchema, payload) // *order.OrderPlaced
//
// Keep each historical schema beside its chain and a golden payload of every
// version that must reach the current type (the example does, in
// history/<full name>/v<N>.avsc and testdata/). See [MinorUnits] for a
// conversion rule such steps need.
package upcasters
