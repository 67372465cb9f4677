// Package query holds the order service's read use case: GetOrder, answered
// from the order's own event stream (strongly consistent). Lists and searches
// are the projector's job (services/projector).
package query
