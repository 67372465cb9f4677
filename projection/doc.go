// Package projection builds read models from events: it applies each event to
// a projection's tables exactly once, tracks how far every projection got, and
// rebuilds a projection from the event store into shadow tables that replace
// the live ones atomically.
//
// A Projection names its tables (logical names in the PostgreSQL schema
// "read"), creates them, and applies one decoded event inside a transaction:
//
//	type Projection interface {
//		Name() string
//		EventTypes() []string                      // Avro full names it consumes
//		Tables() []string                          // logical table names, e.g. "order_summaries"
//		Create(ctx, tx, Tables) error              // CREATE TABLE statements for the given physical names
//		Apply(ctx, tx, Tables, Event) error        // write one event
//	}
//
// Tables maps each logical name to the physical, quoted, schema-qualified name
// to write (the live table or, during a rebuild, its shadow). Create must not
// name indexes or constraints explicitly, so that a shadow's names never
// collide with the live table's (PostgreSQL picks unique names).
//
// Exactly-once effect. The Runner applies an event only if its stream version
// is the next one the projection has seen for that stream: every projection
// has a companion table <name>__streams(stream_id, version) updated in the same
// transaction. Older versions (redeliveries, replays) are skipped; a gap (a
// version beyond the next) is an error, ErrGap, because it means events
// arrived out of order (the seed design's first incident). "Next" follows
// what the projection subscribes to: versions whose events are of types it
// does not consume are passed over (the runner checks the event store's
// events table in the same database), so a projection lists only the types it
// needs. This works for any
// table shape, also aggregates such as daily totals, and it survives a rebuild
// because the companion table is rebuilt and swapped with the others. The
// messaging consumer's processed-event marker sits on top of it.
//
// Use with the messaging consumer runtime:
//
//	runner := projection.NewRunner(pool, orderSummaries, dailySales)
//	err := runner.Setup(ctx)                  // schema, status rows, live tables
//	runner.Register(router)                   // one handler per event type; apply in the consumer's tx
//
// Rebuild (RebuildMain gives a projector binary a `rebuild NAME` subcommand)
// replays the event store from the
// start (decoded and upcast) into shadow tables with progress reports, then in
// one transaction catches up to the head of the log, renames the shadows over
// the live tables and drops the old ones. Readers see the old tables until the
// commit and the new ones after it; the swap takes an exclusive advisory lock
// that the Runner's apply holds shared (taken before the apply touches any
// table, so the two queue and never deadlock), so no event is applied to a
// table that is being replaced. The swap runs with lock_timeout and is
// retried from the same position when it times out. Run rebuilds with a pool
// of their own (the CLI does): live applies waiting for the swap hold their
// connections. Status reports, per projection, the last applied global
// position, the lag in events behind the event store, events applied, streams
// tracked, and failures with the last error; StatusAll reports the same for
// every projection recorded in the database, without their code (strata
// projection status).
package projection
