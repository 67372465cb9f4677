// Package ports exposes the projector's queries as the gRPC OrderQueryService
// (query.v1) and chooses the status codes: NOT_FOUND for an unknown order,
// INVALID_ARGUMENT for a malformed request or token, DEADLINE_EXCEEDED when a
// min_position token is not reached within the wait bound (5 s by default),
// UNAVAILABLE when the database cannot be reached.
package ports
