-- Version 4: the read horizon on a hot standby.
--
-- On a standby, pg_current_snapshot() lists no in-flight transactions (the
-- server keeps the primary's running transactions apart from the snapshot's
-- xip list), so the version 2 horizon fell back to the snapshot's xmax and
-- handed out events while an older transaction of the primary was still in
-- flight: when that one committed, its events sorted below the readers'
-- cursors and were skipped for good. In recovery the horizon is the snapshot's
-- xmin: every transaction of the primary that may still commit counts (the
-- standby cannot tell which database it belongs to; conservative).
CREATE OR REPLACE FUNCTION eventstore_horizon() RETURNS xid8
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
    SELECT CASE WHEN pg_is_in_recovery() THEN (SELECT pg_snapshot_xmin(snap.s) FROM snap)
    ELSE COALESCE(
        (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
          WHERE (x::text::numeric % 4294967296)::text NOT IN (SELECT xid32 FROM other)),
        (SELECT pg_snapshot_xmax(snap.s) FROM snap))
    END
$$;
