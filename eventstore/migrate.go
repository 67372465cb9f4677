package eventstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the session advisory lock key that serialises Migrate runs
// ("strataes" as a big-endian int64).
const migrationLock int64 = 0x7374726174616573

// Migration is one versioned schema change, named NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migrations: %s: want NNNN_name.sql", name)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations: version %d twice", ms[i].Version)
		}
	}
	return ms, nil
}

// MigrateResult lists what Migrate did.
type MigrateResult struct {
	Applied []string // names applied by this call
	Current int      // schema version after the call
}

// Migrate brings the event store's tables up to date. It is idempotent and
// safe to run from many processes at once: a session advisory lock serialises
// runs, and each migration commits in its own transaction together with its
// row in eventstore_migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (MigrateResult, error) {
	res, err := migrate(ctx, pool)
	if err != nil {
		return res, fmt.Errorf("eventstore migrate: %w", err)
	}
	return res, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) (MigrateResult, error) {
	var res MigrateResult
	ms, err := Migrations()
	if err != nil {
		return res, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return res, fmt.Errorf("advisory lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; a dead connection drops the lock anyway.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
			conn.Conn().Close(uctx) //nolint:errcheck // the session's locks go with it
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS eventstore_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, fmt.Errorf("create eventstore_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM eventstore_migrations")
	if err != nil {
		return res, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return res, err
	}
	for _, v := range versions {
		applied[int(v)] = true
		res.Current = max(res.Current, int(v))
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO eventstore_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("apply %s: %w", m.Name, err)
		}
		res.Applied = append(res.Applied, m.Name)
		res.Current = max(res.Current, m.Version)
	}
	return res, CheckTxCounter(ctx, conn)
}

// Querier is what CheckTxCounter needs (a pool, a connection, a transaction).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckTxCounter returns a *TxCounterBehindError when the stored events'
// transaction ids are at or above the cluster's next transaction id: the
// database was restored from a dump into another cluster, and new events
// would sort below every checkpoint (docs/operations.md, restoring into a new
// cluster). Migrate calls it; so does the relay before it leads.
func CheckTxCounter(ctx context.Context, q Querier) error {
	var maxTx, next string
	err := q.QueryRow(ctx, `SELECT COALESCE((SELECT tx_id FROM events ORDER BY tx_id DESC LIMIT 1), '0'::xid8)::text,
       pg_snapshot_xmax(pg_current_snapshot())::text`).Scan(&maxTx, &next)
	if err != nil {
		return fmt.Errorf("check transaction counter: %w", err)
	}
	m, err1 := strconv.ParseUint(maxTx, 10, 64)
	n, err2 := strconv.ParseUint(next, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("check transaction counter: %w", err)
	}
	if m >= n {
		return &TxCounterBehindError{MaxTxID: m, Next: n}
	}
	return nil
}
