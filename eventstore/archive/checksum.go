package archive

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier runs queries: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// StreamSum is one stream's event count and checksum in a database.
type StreamSum struct {
	StreamID string
	Events   int64
	Version  int64 // highest stored version
	Checksum string
}

// checksumSQL computes, per stream, the SHA-256 that StreamHash computes in
// Go: for each event in version order, version (8 bytes big-endian), event id
// (16 bytes), length-prefixed event type, fingerprint (32 bytes),
// length-prefixed payload, length-prefixed metadata (correlation, causation,
// user, traceparent joined by 0x1f) and recorded_at in Unix microseconds
// (8 bytes big-endian).
const checksumSQL = `
SELECT stream_id, count(*)::bigint, max(version),
       encode(sha256(string_agg(
           int8send(version) || uuid_send(event_id)
           || int4send(octet_length(convert_to(event_type, 'UTF8'))) || convert_to(event_type, 'UTF8')
           || schema_fingerprint
           || int4send(octet_length(payload)) || payload
           || int4send(octet_length(convert_to(meta, 'UTF8'))) || convert_to(meta, 'UTF8')
           || int8send((extract(epoch FROM recorded_at) * 1000000)::bigint),
           ''::bytea ORDER BY version)), 'hex')
  FROM (SELECT stream_id, version, event_id, event_type, schema_fingerprint, payload, recorded_at,
               coalesce(correlation_id, '') || chr(31) || coalesce(causation_id, '') || chr(31)
               || coalesce(user_id, '') || chr(31) || coalesce(traceparent, '') AS meta
          FROM events
         WHERE ($1::text[] IS NULL OR stream_id = ANY ($1::text[]))) e
 GROUP BY stream_id
 ORDER BY stream_id`

// StreamChecksums returns the event count and checksum of each stream with
// events in the database q reaches; streams nil means every stream. Streams
// without events are absent from the result.
func StreamChecksums(ctx context.Context, q Querier, streams []string) (map[string]StreamSum, error) {
	rows, err := q.Query(ctx, checksumSQL, streams)
	if err != nil {
		return nil, fmt.Errorf("stream checksums: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StreamSum, error) {
		var s StreamSum
		err := r.Scan(&s.StreamID, &s.Events, &s.Version, &s.Checksum)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("stream checksums: %w", err)
	}
	m := make(map[string]StreamSum, len(out))
	for _, s := range out {
		m[s.StreamID] = s
	}
	return m, nil
}
