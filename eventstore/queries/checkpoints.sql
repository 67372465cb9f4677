-- name: GetCheckpoint :one
SELECT tx_id, position FROM checkpoints WHERE name = $1;

-- name: SaveCheckpoint :exec
INSERT INTO checkpoints (name, tx_id, position, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE
   SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, updated_at = EXCLUDED.updated_at;

-- name: DeleteCheckpoint :exec
DELETE FROM checkpoints WHERE name = $1;
