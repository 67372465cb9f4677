-- The read model of the accounts projection. The projection creates the
-- table from this file (with the physical name the projection runner gives),
-- and sqlc generates the queries in queries.sql against it.
CREATE SCHEMA IF NOT EXISTS "read";

-- table
CREATE TABLE "read".accounts (
    account_id      text PRIMARY KEY,
    owner           text NOT NULL,
    currency        text NOT NULL,
    balance         bigint NOT NULL,
    overdraft_limit bigint NOT NULL,
    version         bigint NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX ON "read".accounts (owner);
