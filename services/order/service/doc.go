// Package service wires the order service: PostgreSQL (event store
// migrations applied at start-up), the event-store order stream, the
// in-process stock and credit checks, the command handlers, the gRPC
// OrderService with health and reflection (optional TLS), tracing and the
// /metrics endpoint. main only calls Run.
package service
