-- name: AppendEvents :many
-- Appends a batch to one stream in one statement, returning one row per
-- event, or no row when the expected version, the stream type or a tombstone
-- refused it (the caller then looks at the stream to say why).
--
-- The advisory lock is taken before the statement's first write, so the
-- transaction id (assigned at the first write) comes after it: for one
-- stream, tx_id order is version order, and the global log ordered by
-- (tx_id, position) keeps every stream's order. A row lock would not do: the
-- id is assigned before waiting for it, and waiters can be granted out of order.
-- The statement's snapshot may predate the lock; the UPDATE's re-check of the
-- newest row version (EvalPlanQual) keeps the version check exact, and a
-- stream created meanwhile makes both stream CTEs return nothing (retried).
-- expected: -1 any, -2 no stream, -3 stream exists, >= 0 exact version.
WITH lk AS MATERIALIZED (
    SELECT true AS ok FROM (SELECT pg_advisory_xact_lock(1937011297, hashtext(sqlc.arg(stream_id)::text))) AS l
), upd AS (
    UPDATE streams AS s
       SET version = s.version + cardinality(sqlc.arg(event_ids)::uuid[]), updated_at = sqlc.arg(recorded_at)::timestamptz
     WHERE s.stream_id = sqlc.arg(stream_id)::text
       AND (SELECT ok FROM lk)
       AND NOT s.tombstoned
       AND s.stream_type = sqlc.arg(stream_type)::text
       AND (sqlc.arg(expected)::bigint = -1
            OR (sqlc.arg(expected)::bigint = -2 AND s.version = 0)
            OR (sqlc.arg(expected)::bigint = -3 AND s.version > 0)
            OR (sqlc.arg(expected)::bigint >= 0 AND s.version = sqlc.arg(expected)::bigint))
    RETURNING s.version - cardinality(sqlc.arg(event_ids)::uuid[]) AS prev
), cre AS (
    INSERT INTO streams (stream_id, stream_type, version, created_at, updated_at)
    SELECT sqlc.arg(stream_id)::text, sqlc.arg(stream_type)::text, cardinality(sqlc.arg(event_ids)::uuid[]),
           sqlc.arg(recorded_at)::timestamptz, sqlc.arg(recorded_at)::timestamptz
      FROM lk
     WHERE sqlc.arg(expected)::bigint IN (-1, -2, 0)
       AND NOT EXISTS (SELECT 1 FROM streams AS x WHERE x.stream_id = sqlc.arg(stream_id)::text)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING 0::bigint AS prev
), base AS (
    SELECT upd.prev FROM upd UNION ALL SELECT cre.prev FROM cre
)
INSERT INTO events AS e (stream_id, stream_type, version, event_id, event_type, schema_fingerprint, payload,
                         correlation_id, causation_id, user_id, traceparent, recorded_at)
SELECT sqlc.arg(stream_id)::text, sqlc.arg(stream_type)::text, base.prev + u.ord, u.id, u.typ, u.fp, u.pl,
       NULLIF(u.corr, ''), NULLIF(u.caus, ''), NULLIF(u.usr, ''), NULLIF(u.tp, ''), sqlc.arg(recorded_at)::timestamptz
  FROM base,
       ROWS FROM (unnest(sqlc.arg(event_ids)::uuid[]), unnest(sqlc.arg(event_types)::text[]),
                  unnest(sqlc.arg(fingerprints)::bytea[]), unnest(sqlc.arg(payloads)::bytea[]),
                  unnest(sqlc.arg(correlation_ids)::text[]), unnest(sqlc.arg(causation_ids)::text[]),
                  unnest(sqlc.arg(user_ids)::text[]), unnest(sqlc.arg(traceparents)::text[]))
       WITH ORDINALITY AS u(id, typ, fp, pl, corr, caus, usr, tp, ord)
 ORDER BY u.ord
RETURNING e.position, e.version, e.tx_id;

-- name: EventsByID :many
-- The stored events with these ids, to recognise a retried append.
SELECT position, version, tx_id, stream_id
  FROM events
 WHERE event_id = ANY (sqlc.arg(event_ids)::uuid[])
 ORDER BY version;

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
