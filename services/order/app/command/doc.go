// Package command holds the order service's use cases that change state:
// PlaceOrder, ConfirmOrder, ShipOrder and CancelOrder.
//
// Each handler loads the order from its stream, checks that the command has
// not already been handled (idempotency by command id), lets the aggregate
// decide, and appends the new events with the loaded version as the expected
// version. A version conflict means another command won the race: the handler
// reloads and decides again, at most Config.MaxConflictRetries times, which is
// safe because every decision is re-made on the fresh state.
//
// Idempotency: the command id is the causation id of every event it produced.
// Load reports the causation ids found in the stream, so a retried command
// that already took effect returns the recorded result and appends nothing.
// PlaceOrder derives the order id from the command id (UUIDv5), so a retried
// PlaceOrder addresses the same stream; event ids are derived from the command
// id too, so two concurrent deliveries of one command collapse into a single
// append in the event store (its re-append of the same event ids is a no-op).
package command
