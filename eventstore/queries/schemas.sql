-- name: InsertSchema :exec
INSERT INTO event_schemas (fingerprint, full_name, schema_json, created_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (fingerprint) DO NOTHING;

-- name: GetSchema :one
SELECT fingerprint, full_name, schema_json, created_at
  FROM event_schemas
 WHERE fingerprint = $1;

-- name: MissingSchemas :many
SELECT f::bytea AS fingerprint
  FROM unnest(sqlc.arg(fingerprints)::bytea[]) AS f
 WHERE NOT EXISTS (SELECT 1 FROM event_schemas s WHERE s.fingerprint = f);
