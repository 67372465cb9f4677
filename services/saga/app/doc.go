// Package app is the fulfilment orchestrator's use case: an event from the
// log (OrderPlaced, or a participant's reply) becomes a saga start or a saga
// reply, applied inside the caller's transaction so that the consumer's
// processed-event marker commits with the saga's state change.
package app
