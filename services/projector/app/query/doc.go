// Package query holds the projector's read use cases: one order summary and
// filtered, keyset-paginated lists, each optionally waiting (bounded) for a
// command's position token so that a client reads its own writes.
package query
