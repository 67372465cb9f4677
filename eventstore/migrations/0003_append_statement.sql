-- Version 3: appends are one SQL statement (queries/events.sql, AppendEvents)
-- instead of the PL/pgSQL function of version 1, which cost about a third of
-- the append throughput in statement overhead. The function goes.
DROP FUNCTION IF EXISTS eventstore_append(text, text, bigint, uuid[], text[], bytea[], bytea[], text[], text[], text[], text[], timestamptz, boolean);
