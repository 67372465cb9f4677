-- Version 2: the read horizon ignores transactions of other databases.
--
-- pg_snapshot_xmin is cluster-wide: an open transaction in any database of the
-- cluster (another service's, the registry's) would hold back every reader of
-- this global log. eventstore_horizon() returns the smallest transaction id
-- that may still add rows here: the oldest in-flight transaction of the
-- current snapshot that is not known to belong to another database. An id
-- that has ended since the snapshot, or whose session we may not see, counts
-- (conservative). Every row with tx_id below the horizon is final and visible
-- to the calling statement's snapshot; every later row has tx_id >= horizon.
-- STABLE: it uses the calling statement's snapshot.
CREATE FUNCTION eventstore_horizon() RETURNS xid8
LANGUAGE sql STABLE AS $$
    WITH snap AS (
        SELECT pg_current_snapshot() AS s
    ), other AS (
        SELECT a.backend_xid::text AS xid32
          FROM pg_stat_activity a
         WHERE a.backend_xid IS NOT NULL
           AND a.datid IS DISTINCT FROM (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
        UNION ALL
        SELECT p.transaction::text
          FROM pg_prepared_xacts p
         WHERE p.database <> current_database()
    )
    SELECT COALESCE(
        (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
          WHERE (x::text::numeric % 4294967296)::text NOT IN (SELECT xid32 FROM other)),
        (SELECT pg_snapshot_xmax(snap.s) FROM snap))
$$;

-- eventstore_held_back reports how far readers of this global log are held
-- back: the horizon, whether a transaction is holding it (in_flight), how many
-- committed events (capped) already wait behind it, how long that transaction
-- has been open (seconds; 0 when unknown) and its backend pid (0 for a
-- prepared transaction or when unknown).
CREATE OR REPLACE FUNCTION eventstore_held_back()
RETURNS TABLE (xmin xid8, in_flight boolean, waiting bigint, age_seconds float8, pid integer)
LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT eventstore_horizon() AS horizon,
               pg_snapshot_xmax(pg_current_snapshot()) AS xmax
    ), k AS (
        SELECT h.*, (h.horizon::text::numeric % 4294967296)::text AS xid32 FROM h
    ), holder AS (
        SELECT a.pid, a.xact_start AS since
          FROM pg_stat_activity a, k
         WHERE a.backend_xid IS NOT NULL AND a.backend_xid::text = k.xid32
        UNION ALL
        SELECT 0, p.prepared
          FROM pg_prepared_xacts p, k
         WHERE p.transaction::text = k.xid32
    )
    SELECT k.horizon,
           k.horizon < k.xmax,
           (SELECT count(*) FROM (SELECT 1 FROM events e WHERE e.tx_id >= k.horizon LIMIT 100000) w),
           COALESCE((SELECT extract(epoch FROM clock_timestamp() - min(holder.since)) FROM holder), 0)::float8,
           COALESCE((SELECT min(holder.pid) FROM holder), 0)
      FROM k
$$;
