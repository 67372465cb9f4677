// Package service wires the projector: PostgreSQL (event store migrations,
// read schema), the projection runner over the messaging consumer runtime
// (group "projector", topic events.order), the gRPC OrderQueryService with
// health and reflection, and the /metrics endpoint. main only calls Run.
package service
