// Package command holds the inventory service's use cases: reserve all items
// of an order or none, and release a reservation. A reservation spans several
// product streams, so the handlers are written to be re-run: every step is
// idempotent per reservation id (a product holds a reservation at most once,
// a released reservation is never held again), events get ids derived from
// the command id, and the reservation's own stream records the answer last.
// A command that fails half-way is redelivered and converges.
package command
