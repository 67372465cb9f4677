-- name: AppendEvents :many
SELECT r.status::integer AS status,
       COALESCE(r.event_position, 0)::bigint AS position,
       COALESCE(r.event_version, 0)::bigint AS version,
       COALESCE(r.event_tx_id, '0'::xid8)::xid8 AS tx_id
  FROM eventstore_append(
        sqlc.arg(stream_id)::text,
        sqlc.arg(stream_type)::text,
        sqlc.arg(expected)::bigint,
        sqlc.arg(event_ids)::uuid[],
        sqlc.arg(event_types)::text[],
        sqlc.arg(fingerprints)::bytea[],
        sqlc.arg(payloads)::bytea[],
        sqlc.arg(correlation_ids)::text[],
        sqlc.arg(causation_ids)::text[],
        sqlc.arg(user_ids)::text[],
        sqlc.arg(traceparents)::text[],
        sqlc.arg(recorded_at)::timestamptz,
        sqlc.arg(notify)::boolean) AS r;

-- name: GetStream :one
SELECT stream_id, stream_type, version, tombstoned, truncated_before, created_at, updated_at
  FROM streams
 WHERE stream_id = $1;

-- name: ReadStreamForward :many
SELECT position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at
  FROM events
 WHERE stream_id = sqlc.arg(stream_id) AND version >= sqlc.arg(from_version)
 ORDER BY version
 LIMIT sqlc.arg(max_count);

-- name: ReadStreamBackward :many
SELECT position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at
  FROM events
 WHERE stream_id = sqlc.arg(stream_id) AND version <= sqlc.arg(from_version)
   AND version >= sqlc.arg(min_version)
 ORDER BY version DESC
 LIMIT sqlc.arg(max_count);

-- name: ReadAll :many
-- Commit-ordered: only rows below the horizon (transactions that have ended).
SELECT position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at
  FROM events
 WHERE (tx_id, position) > (sqlc.arg(after_tx)::xid8, sqlc.arg(after_position)::bigint)
   AND tx_id < (SELECT eventstore_horizon())
 ORDER BY tx_id, position
 LIMIT sqlc.arg(max_count);

-- name: ReadByType :many
SELECT position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at
  FROM events
 WHERE event_type = ANY (sqlc.arg(event_types)::text[])
   AND (tx_id, position) > (sqlc.arg(after_tx)::xid8, sqlc.arg(after_position)::bigint)
   AND tx_id < (SELECT eventstore_horizon())
   AND recorded_at >= sqlc.arg(since)::timestamptz
 ORDER BY tx_id, position
 LIMIT sqlc.arg(max_count);

-- name: HeldBack :one
SELECT h.xmin::xid8 AS xmin, h.in_flight::boolean AS in_flight, h.waiting::bigint AS waiting,
       h.age_seconds::float8 AS age_seconds, h.pid::integer AS pid
  FROM eventstore_held_back() AS h;

-- name: DeleteStream :execrows
UPDATE streams SET tombstoned = true, updated_at = sqlc.arg(now)
 WHERE stream_id = sqlc.arg(stream_id) AND NOT tombstoned;

-- name: TruncateStream :execrows
UPDATE streams SET truncated_before = GREATEST(truncated_before, sqlc.arg(before)::bigint), updated_at = sqlc.arg(now)
 WHERE stream_id = sqlc.arg(stream_id);

-- name: LockStream :exec
SELECT pg_advisory_xact_lock(1937011297, hashtext(sqlc.arg(stream_id)::text));
