// Package runbook holds the tests that exercise docs/operations.md: for each
// incident it reproduces the failure on the real stack (PostgreSQL, Kafka, the
// schema registry) with Strata's services running in-process, checks that the
// documented metric shows it, and runs the documented `strata` command
// in-process to recover. It also holds the end-to-end tracing test: one
// trace id and one correlation id across a whole order flow.
//
//	go test ./ci/runbook
package runbook
