// Package ports exposes the order commands as the gRPC OrderService
// (order.v1) and is the only place that chooses status codes:
//
//	invalid input (order.ErrInvalid)          INVALID_ARGUMENT + errdetails.BadRequest field violations
//	state forbids the command (ErrForbidden)  FAILED_PRECONDITION + errdetails.PreconditionFailure (type STATE)
//	stock or credit check refused             FAILED_PRECONDITION + PreconditionFailure (type STOCK / CREDIT)
//	unknown order                             NOT_FOUND
//	version conflict after bounded retries,
//	or expected_version not current           ABORTED
//	store or checks unreachable               UNAVAILABLE
//
// Every command's events carry the correlation id (metadata x-correlation-id,
// or a new one), the command id as causation id, the user id of the
// verified caller (bootstrap's authentication, none when it is off) and
// the traceparent of the server span. Replies carry a position token
// (projection.Token) for read-your-writes queries.
package ports
