-- name: GetSnapshot :one
SELECT stream_id, stream_type, version, state_version, state, created_at
  FROM snapshots
 WHERE stream_id = $1;

-- name: SaveSnapshot :exec
-- Keeps the newest: an older snapshot never replaces a newer one.
INSERT INTO snapshots (stream_id, stream_type, version, state_version, state, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stream_id) DO UPDATE
   SET stream_type = EXCLUDED.stream_type, version = EXCLUDED.version,
       state_version = EXCLUDED.state_version, state = EXCLUDED.state,
       created_at = EXCLUDED.created_at
 WHERE snapshots.version < EXCLUDED.version OR snapshots.state_version <> EXCLUDED.state_version;

-- name: DeleteSnapshot :exec
DELETE FROM snapshots WHERE stream_id = $1;
