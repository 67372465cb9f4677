// Package archive moves the events of closed streams out of the event store
// into cold storage and brings them back.
//
// An archive run selects streams that are closed (tombstoned, or whose last
// event has one of Policy.ClosedTypes, e.g. shop.order.OrderShipped), whose
// last change is older than Policy.Before, and whose events every checkpoint
// (subscriptions and the Kafka relay) has already passed. It writes their
// events, in version order, to Avro Object Container Files (deflate codec) in
// a directory of its own:
//
//	<dir>/<archive id>/events-00001.avro   strata.archive.ArchivedEvent records
//	<dir>/<archive id>/manifest.json       streams, files, writer schemas, checksums
//	<dir>/<archive id>/SHA256SUMS          `sha256sum -c` compatible
//
// Each record is the stored row: stream, version, event id and type, global
// position and transaction id, metadata (correlation, causation, user,
// traceparent), recorded_at and the Avro payload as bytes with its writer
// schema's fingerprint. The writer schemas are in the manifest and in the
// container's metadata ("strata.schemas"), so any Avro tool (fastavro,
// avro-tools) reads the envelope, and the payload with the right schema.
//
// Only after the files are written, synced, read back and checked does the
// run delete the streams' events, one transaction per stream under the
// stream's append lock, recording the stream in the archived_streams table
// with its event count and checksum. A stream that changed meanwhile is left
// in place (Skipped in the manifest).
//
// Restore verifies SHA256SUMS, re-inserts each archived stream's rows with
// their original positions and transaction ids (so the global log's order is
// unchanged and no subscriber sees them twice), checks the stream checksum
// and removes the archived_streams row.
//
// Reading: Archiver.ReadStream reads a live stream from the store and an
// archived one through its archive files (Config.ReadThrough), or returns an
// *ArchivedError (errors.Is ErrArchived) naming the archive.
//
//	a, err := archive.New(pool, archive.Config{Dir: "/var/lib/strata/archive", ReadThrough: true})
//	m, err := a.Archive(ctx, archive.Policy{Before: cutoff, ClosedTypes: []string{"shop.order.OrderShipped"}}, progress)
//	res, err := a.Restore(ctx, m.ID, progress)
//
// StreamChecksums is the per-stream checksum the archive, restore and
// `strata backup verify` compare: SHA-256 over each event's identity,
// metadata, payload and recorded_at, in version order.
package archive
