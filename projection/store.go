package projection

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const statusSQL = `
CREATE SCHEMA IF NOT EXISTS read;
-- Position, applied count and last event time are derived from each
-- projection's tracking table (<name>__streams) when status is asked for.
CREATE TABLE IF NOT EXISTS read.projection_status (
    name          text PRIMARY KEY,
    failures      bigint      NOT NULL DEFAULT 0, -- failed apply attempts
    last_error    text,
    last_error_at timestamptz,
    rebuilt_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The event types each projection consumes, written by Setup, so that tools
-- without the projections' code (strata projection status) can report lag.
ALTER TABLE read.projection_status ADD COLUMN IF NOT EXISTS event_types text[];`

// lockKey is the advisory lock class of projections ('proj').
const lockKey = 1886547818

// Migrate creates the read schema and the status table. Idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockKey); err != nil {
			return fmt.Errorf("projection migrate lock: %w", err)
		}
		if _, err := tx.Exec(ctx, statusSQL); err != nil {
			return fmt.Errorf("projection migrate: %w", err)
		}
		return nil
	})
}

// setup creates p's live tables (if missing) and its status row.
func setup(ctx context.Context, pool *pgxpool.Pool, p Projection) error {
	for _, n := range allTables(p) {
		if err := validName(n); err != nil {
			return err
		}
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := lockProjection(ctx, tx, p.Name(), true); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualify(streamsTable(p))).Scan(&exists); err != nil {
			return fmt.Errorf("projection %s: %w", p.Name(), err)
		}
		if !exists {
			if err := createTables(ctx, tx, p, liveTables(p)); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `ALTER TABLE `+qualify(streamsTable(p))+` ADD COLUMN IF NOT EXISTS recorded_at timestamptz`); err != nil {
			return fmt.Errorf("projection %s: upgrade tracking table: %w", p.Name(), err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO read.projection_status (name, event_types) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET event_types = EXCLUDED.event_types`, p.Name(), p.EventTypes()); err != nil {
			return fmt.Errorf("projection %s: status row: %w", p.Name(), err)
		}
		return nil
	})
}

func createTables(ctx context.Context, tx pgx.Tx, p Projection, t Tables) error {
	if err := p.Create(ctx, tx, t); err != nil {
		return fmt.Errorf("projection %s: create tables: %w", p.Name(), err)
	}
	_, err := tx.Exec(ctx, `CREATE TABLE `+t.Get(streamsTable(p))+` (
		stream_id text PRIMARY KEY,
		version     bigint NOT NULL,
		position    bigint NOT NULL,
		recorded_at timestamptz
	)`)
	if err != nil {
		return fmt.Errorf("projection %s: create tracking table: %w", p.Name(), err)
	}
	return nil
}

// lockProjection takes the projection's transaction-scoped advisory lock:
// shared for applying events, exclusive for swapping tables.
func lockProjection(ctx context.Context, tx pgx.Tx, name string, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.Exec(ctx, `SELECT `+fn+`($1, hashtext($2))`, lockKey, name); err != nil {
		return fmt.Errorf("projection %s: lock: %w", name, err)
	}
	return nil
}
