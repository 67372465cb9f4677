// Package eventstore is Strata's PostgreSQL event store: streams with
// optimistic concurrency, a commit-ordered global log (which is also the
// outbox the Kafka relay tails), subscriptions with checkpoints, snapshots and
// a generic aggregate repository.
//
// Start with Migrate (idempotent, guarded by an advisory lock) and New:
//
//	if _, err := eventstore.Migrate(ctx, pool); err != nil { ... }
//	store, err := eventstore.New(pool, eventstore.Config{})
//	res, err := store.Append(ctx, "order-42", "order", eventstore.NoStream, events...)
//
// Stored form. Each event row carries its Avro full name (Type), the SHA-256
// fingerprint of its writer schema and the Avro binary payload. Writer schemas
// are kept in the event_schemas table (EventData.Schema.JSON registers a new
// one on first use; RegisterSchema does it up front), so any stored event can
// be decoded without the schema registry.
//
// Append checks the expected version (Any, NoStream, StreamExists or Exact)
// against the streams table and inserts the whole batch set-based, in one
// round trip (one SQL statement, queries/events.sql AppendEvents). A conflict is a
// *VersionConflictError that unwraps to ErrVersionConflict. Re-appending the
// same event ids to the same stream is a no-op that returns the original
// positions, so a retried command is safe.
//
// Global order. Positions come from an identity column and are not commit
// order. Every row stores its transaction id (pg_current_xact_id()), and the
// global log returns only rows of transactions older than the oldest one still
// in flight in this database (eventstore_horizon(); other databases'
// transactions cannot write here and are ignored), ordered by
// (tx_id, position) — the Cursor. A reader that continues from
// its last Cursor never skips an event that commits late. The price: an open
// transaction holds readers back; HeldBack measures it (export GapAge as the
// held-gap-age metric). Appends to one stream take an advisory lock before
// their first write, so one stream's events appear in the global log in
// version order.
//
// Subscriptions (Subscribe) catch up from a cursor and then follow the log
// live, woken by NOTIFY, by this Store's own appends and by a poll interval.
// Checkpoints (SaveCheckpoint, SaveCheckpointTx) are saved when the caller
// decides, e.g. after Kafka acknowledged delivery.
//
// Archiving. Package eventstore/archive moves closed streams' events to
// Avro files and back; reading an archived stream (ReadStream, Repository
// loads) returns a *StreamArchivedError (errors.Is ErrStreamArchived).
//
// Aggregates. Repository[S] loads the latest snapshot plus the events after it,
// decodes every event through the Decoder (the upcasting hook), runs a Command
// and appends its events with the loaded version as the expected version.
// Snapshots are taken every SnapshotEvery events (default 100) and carry their
// codec's Version: a snapshot of another shape is ignored and the stream
// replayed, never mis-decoded.
package eventstore
