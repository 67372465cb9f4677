package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaSQL creates the two tables messaging owns. Both are idempotent.
const schemaSQL = `
CREATE TABLE IF NOT EXISTS messaging_relay_checkpoints (
	name        text PRIMARY KEY,
	tx_id       bigint NOT NULL,
	position    bigint NOT NULL,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS messaging_processed_events (
	consumer_group text NOT NULL,
	event_id       text NOT NULL,
	topic          text NOT NULL,
	kafka_partition integer NOT NULL,
	kafka_offset   bigint NOT NULL,
	processed_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer_group, event_id)
);`

// Migrate creates messaging's tables (relay checkpoints and processed-event
// markers) when they do not exist. The relay and the consumer call it on
// start; it is safe to run concurrently.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("messaging migrate: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('strata.messaging.migrate'))`); err != nil {
		return fmt.Errorf("messaging migrate lock: %w", err)
	}
	if _, err := tx.Exec(ctx, schemaSQL); err != nil {
		return fmt.Errorf("messaging migrate: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("messaging migrate commit: %w", err)
	}
	return nil
}

// lease is a session-level advisory lock held on a connection taken out of
// the pool. The relay writes its checkpoint through the same connection, so a
// relay whose lease connection broke cannot move the checkpoint.
type lease struct {
	conn *pgx.Conn
	name string
}

// tryLease takes the relay lease named name, or returns nil when another
// session holds it.
func tryLease(ctx context.Context, db *pgxpool.Pool, name string) (*lease, error) {
	pc, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire lease connection: %w", err)
	}
	conn := pc.Hijack()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('strata.relay:' || $1))`, name).Scan(&got); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("try lease %s: %w", name, err)
	}
	if !got {
		conn.Close(context.Background())
		return nil, nil
	}
	return &lease{conn: conn, name: name}, nil
}

func (l *lease) close(ctx context.Context) { _ = l.conn.Close(ctx) }

// load returns the relay's checkpoint (zero Cursor when it has none).
func (l *lease) load(ctx context.Context) (Cursor, error) {
	var c Cursor
	var tx int64
	err := l.conn.QueryRow(ctx, `SELECT tx_id, position FROM messaging_relay_checkpoints WHERE name = $1`, l.name).Scan(&tx, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, l.wrap("load checkpoint", err)
	}
	c.TxID = uint64(tx)
	return c, nil
}

// save stores the checkpoint through the lease connection.
func (l *lease) save(ctx context.Context, c Cursor) error {
	_, err := l.conn.Exec(ctx, `INSERT INTO messaging_relay_checkpoints (name, tx_id, position, updated_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (name) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, updated_at = now()`,
		l.name, int64(c.TxID), c.Position)
	if err != nil {
		return l.wrap("save checkpoint", err)
	}
	return nil
}

// wrap reports a broken lease connection as ErrLeaseLost.
func (l *lease) wrap(op string, err error) error {
	var pgErr *pgconn.PgError
	if l.conn.IsClosed() || (!errors.As(err, &pgErr) && !errors.Is(err, context.Canceled)) {
		return fmt.Errorf("%s: %w: %w", op, ErrLeaseLost, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
