-- name: GetAccount :one
SELECT account_id, owner, currency, balance, overdraft_limit, version
FROM "read".accounts
WHERE account_id = $1;

-- name: ListAccountsByOwner :many
SELECT account_id, owner, currency, balance, overdraft_limit, version
FROM "read".accounts
WHERE owner = $1
ORDER BY account_id;
