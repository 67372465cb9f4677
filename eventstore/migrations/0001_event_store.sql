-- Strata event store, version 1: streams, events (the global log and the
-- outbox), writer schemas, snapshots, subscription checkpoints and the append
-- function. Applied once by eventstore.Migrate under an advisory lock.

-- Every writer schema an event or snapshot was written with, so any stored row
-- can be decoded without the schema registry.
CREATE TABLE event_schemas (
    fingerprint bytea       PRIMARY KEY CHECK (octet_length(fingerprint) = 32), -- SHA-256 of the Parsing Canonical Form
    full_name   text        NOT NULL,                                           -- Avro full name, e.g. shop.order.OrderPlaced
    schema_json text        NOT NULL,
    created_at  timestamptz NOT NULL
);

-- One row per stream: the optimistic-concurrency record (no MAX(version) scans),
-- the soft-delete flag and the truncation point.
CREATE TABLE streams (
    stream_id        text        PRIMARY KEY,
    stream_type      text        NOT NULL,
    version          bigint      NOT NULL CHECK (version >= 0), -- version of the last event, 0 = none
    tombstoned       boolean     NOT NULL DEFAULT false,
    truncated_before bigint      NOT NULL DEFAULT 0,            -- reads skip versions below this
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- The events. position is the insertion order (not commit order); tx_id is the
-- writing transaction's id. Readers of the global log read only rows with
-- tx_id < pg_snapshot_xmin(pg_current_snapshot()) ordered by (tx_id, position):
-- those transactions have all ended, so nothing can appear behind the cursor.
CREATE TABLE events (
    position           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id              xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id          text        NOT NULL,
    stream_type        text        NOT NULL,
    version            bigint      NOT NULL CHECK (version >= 1),
    event_id           uuid        NOT NULL,
    event_type         text        NOT NULL,
    schema_fingerprint bytea       NOT NULL CHECK (octet_length(schema_fingerprint) = 32),
    payload            bytea       NOT NULL,
    correlation_id     text,
    causation_id       text,
    user_id            text,
    traceparent        text,
    recorded_at        timestamptz NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
CREATE INDEX events_tx_position_idx ON events (tx_id, position);
CREATE INDEX events_type_tx_position_idx ON events (event_type, tx_id, position);
CREATE INDEX events_recorded_at_brin ON events USING brin (recorded_at);

-- Aggregate snapshots: the latest per stream. state_version is the shape of
-- the encoded state; a reader that expects another shape ignores the row.
CREATE TABLE snapshots (
    stream_id     text        PRIMARY KEY,
    stream_type   text        NOT NULL,
    version       bigint      NOT NULL, -- stream version the state includes
    state_version integer     NOT NULL,
    state         bytea       NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Subscription checkpoints: name -> global-log cursor (tx_id, position).
CREATE TABLE checkpoints (
    name       text        PRIMARY KEY,
    tx_id      xid8        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- eventstore_append appends a batch to one stream in one round trip.
--
-- p_expected: -1 any, -2 no stream, -3 stream exists, >= 0 exact version.
-- Returns one row per event: status 0 appended, 1 the same event ids were
-- already appended to this stream (an idempotent retry: the original rows are
-- returned). Otherwise one row: status 2 version conflict (version = actual),
-- 3 stream tombstoned, 4 event ids already used elsewhere or only some of them
-- stored, 5 stream type differs from the stored one (version = actual).
--
-- The advisory lock is taken before the transaction's first write, so the
-- transaction id is assigned after the lock: for one stream, tx_id order is
-- version order, and the global log (tx_id, position) keeps every stream's
-- order. (A row lock would assign the id before waiting, and two waiters may be
-- granted out of order.) Must be called outside an explicit transaction that
-- has already written.
CREATE FUNCTION eventstore_append(
    p_stream_id       text,
    p_stream_type     text,
    p_expected        bigint,
    p_event_ids       uuid[],
    p_event_types     text[],
    p_fingerprints    bytea[],
    p_payloads        bytea[],
    p_correlation_ids text[],
    p_causation_ids   text[],
    p_user_ids        text[],
    p_traceparents    text[],
    p_recorded_at     timestamptz,
    p_notify          boolean
) RETURNS TABLE (status integer, event_position bigint, event_version bigint, event_tx_id xid8)
LANGUAGE plpgsql AS $$
DECLARE
    n          integer := cardinality(p_event_ids);
    cur        bigint;
    cur_type   text;
    tomb       boolean;
    found_n    integer;
    same_n     integer;
BEGIN
    PERFORM pg_advisory_xact_lock(1937011297, hashtext(p_stream_id)); -- 'stra'

    -- An idempotent retry: the first event id is already stored.
    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_ids[1]) THEN
        SELECT count(*), count(*) FILTER (WHERE e.stream_id = p_stream_id)
          INTO found_n, same_n
          FROM events e WHERE e.event_id = ANY (p_event_ids);
        IF found_n = n AND same_n = n THEN
            RETURN QUERY SELECT 1, e.position, e.version, e.tx_id
                FROM events e WHERE e.event_id = ANY (p_event_ids) ORDER BY e.version;
        ELSE
            RETURN QUERY SELECT 4, NULL::bigint, NULL::bigint, NULL::xid8;
        END IF;
        RETURN;
    END IF;

    SELECT s.version, s.stream_type, s.tombstoned INTO cur, cur_type, tomb
      FROM streams s WHERE s.stream_id = p_stream_id;
    IF NOT FOUND THEN
        cur := 0;
        tomb := false;
    END IF;
    IF tomb THEN
        RETURN QUERY SELECT 3, NULL::bigint, cur, NULL::xid8;
        RETURN;
    END IF;
    IF cur_type IS NOT NULL AND cur_type <> p_stream_type THEN
        RETURN QUERY SELECT 5, NULL::bigint, cur, NULL::xid8;
        RETURN;
    END IF;
    IF NOT (p_expected = -1
            OR (p_expected = -2 AND cur = 0)
            OR (p_expected = -3 AND cur > 0)
            OR (p_expected >= 0 AND cur = p_expected)) THEN
        RETURN QUERY SELECT 2, NULL::bigint, cur, NULL::xid8;
        RETURN;
    END IF;

    IF cur_type IS NULL THEN
        INSERT INTO streams (stream_id, stream_type, version, created_at, updated_at)
        VALUES (p_stream_id, p_stream_type, n, p_recorded_at, p_recorded_at);
    ELSE
        UPDATE streams SET version = cur + n, updated_at = p_recorded_at
         WHERE stream_id = p_stream_id;
    END IF;

    RETURN QUERY
    INSERT INTO events AS e (stream_id, stream_type, version, event_id, event_type,
                             schema_fingerprint, payload, correlation_id, causation_id,
                             user_id, traceparent, recorded_at)
    SELECT p_stream_id, p_stream_type, cur + u.ord, u.id, u.typ, u.fp, u.pl,
           NULLIF(u.corr, ''), NULLIF(u.caus, ''), NULLIF(u.usr, ''), NULLIF(u.tp, ''), p_recorded_at
      FROM unnest(p_event_ids, p_event_types, p_fingerprints, p_payloads,
                  p_correlation_ids, p_causation_ids, p_user_ids, p_traceparents)
           WITH ORDINALITY AS u(id, typ, fp, pl, corr, caus, usr, tp, ord)
     ORDER BY u.ord
    RETURNING 0, e.position, e.version, e.tx_id;

    IF p_notify THEN
        PERFORM pg_notify('strata_events', '');
    END IF;
END
$$;

-- eventstore_held_back reports how far readers of the global log are held back:
-- the oldest in-flight transaction id (xmin of a fresh snapshot), whether any
-- committed events already wait behind it (capped count), how long that
-- transaction has been open (seconds; 0 when unknown) and its backend pid.
-- The oldest in-flight transaction may belong to any database of the cluster.
CREATE FUNCTION eventstore_held_back()
RETURNS TABLE (xmin xid8, in_flight boolean, waiting bigint, age_seconds float8, pid integer)
LANGUAGE sql STABLE AS $$
    WITH snap AS (
        SELECT pg_snapshot_xmin(s) AS xmin, pg_snapshot_xmax(s) AS xmax,
               (pg_snapshot_xmin(s)::text::numeric % 4294967296)::text AS xid32
          FROM pg_current_snapshot() AS s
    ), holder AS (
        SELECT a.pid, a.xact_start AS since
          FROM pg_stat_activity a, snap
         WHERE a.backend_xid IS NOT NULL AND a.backend_xid::text = snap.xid32
        UNION ALL
        SELECT 0, p.prepared
          FROM pg_prepared_xacts p, snap
         WHERE p.transaction::text = snap.xid32
    )
    SELECT snap.xmin,
           snap.xmin < snap.xmax,
           (SELECT count(*) FROM (SELECT 1 FROM events e WHERE e.tx_id >= snap.xmin LIMIT 100000) w),
           COALESCE((SELECT extract(epoch FROM clock_timestamp() - min(h.since)) FROM holder h), 0)::float8,
           COALESCE((SELECT min(h.pid) FROM holder h), 0)
      FROM snap
$$;
