package saga

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key that serialises Migrate callers.
const migrateLock = 0x5a6a_0001

// Migrate creates or upgrades the saga schema. It is idempotent and safe to
// call from several processes at once (an advisory lock serialises them).
func Migrate(ctx context.Context, db DB) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("saga migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("saga migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS saga;
		CREATE TABLE IF NOT EXISTS saga.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("saga migrate: bookkeeping: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("saga migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM saga.schema_migrations WHERE version=$1)`, version).Scan(&done); err != nil {
			return fmt.Errorf("saga migrate %s: %w", version, err)
		}
		if done {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("saga migrate %s: %w", version, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("saga migrate %s: %w", version, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO saga.schema_migrations (version) VALUES ($1)`, version); err != nil {
			return fmt.Errorf("saga migrate %s: %w", version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("saga migrate: commit: %w", err)
	}
	return nil
}
