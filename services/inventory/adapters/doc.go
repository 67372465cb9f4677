// Package adapters connects the inventory service to the outside: product
// stock and reservation streams in the event store, and failure injection
// from the environment.
package adapters
