package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

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
);
-- epoch: the lease generation, bumped by every relay that takes the lease; a
-- checkpoint is saved only under the epoch that read it (fencing).
-- released: the last leader let go cleanly (its successor need not wait out
-- its LeaseTimeout).
-- (Checked first: ALTER TABLE locks the table even when the column exists.)
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM information_schema.columns
	               WHERE table_schema = current_schema() AND table_name = 'messaging_relay_checkpoints' AND column_name = 'epoch') THEN
		ALTER TABLE messaging_relay_checkpoints ADD COLUMN epoch bigint NOT NULL DEFAULT 0,
			ADD COLUMN released boolean NOT NULL DEFAULT true;
	END IF;
END $$;
CREATE TABLE IF NOT EXISTS messaging_relay_quarantine (
	relay          text NOT NULL,
	event_id       text NOT NULL,
	tx_id          bigint NOT NULL,
	position       bigint NOT NULL,
	stream_id      text NOT NULL,
	event_type     text NOT NULL,
	topic          text NOT NULL,
	size           integer NOT NULL,
	reason         text NOT NULL,
	attempts       integer NOT NULL DEFAULT 1,
	quarantined_at timestamptz NOT NULL DEFAULT now(),
	last_attempt   timestamptz NOT NULL DEFAULT now(),
	skipped_at     timestamptz,
	PRIMARY KEY (relay, event_id)
);`

// migrateTimeout bounds Migrate (a blocked lock must not hang a start).
const migrateTimeout = 30 * time.Second

// Migrate creates messaging's tables (relay checkpoints and processed-event
// markers) when they do not exist. The relay and the consumer call it on
// start; it is safe to run concurrently.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
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
// the pool, plus a generation (epoch) in the checkpoint row. The relay writes
// its checkpoint through the same connection and only under its epoch, so a
// relay whose lease connection broke, or that another relay replaced, cannot
// move the checkpoint. The lease is valid only until confirmedAt +
// LeaseTimeout: a leader that cannot confirm it (a half-open connection: no
// error, no answer) stops producing when that passes.
type lease struct {
	conn    *pgx.Conn
	name    string
	epoch   int64
	timeout time.Duration // LeaseTimeout
	// prevReleased: the previous leader let go cleanly.
	prevReleased bool
	validUntil   atomic.Int64 // unix nanos
}

// tryLease takes the relay lease named name, or returns nil when another
// session holds it. Every call is bounded by timeout.
func tryLease(ctx context.Context, db *pgxpool.Pool, name string, leaseTimeout, timeout time.Duration) (*lease, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pc, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire lease connection: %w", err)
	}
	conn := pc.Hijack()
	start := time.Now()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('strata.relay:' || $1))`, name).Scan(&got); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("try lease %s: %w", name, err)
	}
	if !got {
		closeConn(conn)
		return nil, nil
	}
	l := &lease{conn: conn, name: name, timeout: leaseTimeout}
	err = conn.QueryRow(ctx, `WITH prev AS (SELECT released FROM messaging_relay_checkpoints WHERE name = $1)
INSERT INTO messaging_relay_checkpoints AS c (name, tx_id, position, epoch, released, updated_at)
VALUES ($1, 0, 0, 1, false, now())
ON CONFLICT (name) DO UPDATE SET epoch = c.epoch + 1, released = false
RETURNING c.epoch, COALESCE((SELECT released FROM prev), true)`, name).Scan(&l.epoch, &l.prevReleased)
	if err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("lease %s epoch: %w", name, err)
	}
	l.confirmed(start)
	return l, nil
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// confirmed extends the lease to start + LeaseTimeout (start: when the
// confirming call was sent).
func (l *lease) confirmed(start time.Time) {
	l.validUntil.Store(start.Add(l.timeout).UnixNano())
}

// callTimeout bounds a call on the lease connection: it may run until the
// lease would expire anyway (at least LeaseTimeout/3).
func (l *lease) callTimeout() time.Duration {
	return max(l.timeout/3, time.Until(time.Unix(0, l.validUntil.Load())))
}

// valid reports whether the lease was confirmed less than LeaseTimeout ago.
func (l *lease) valid(now time.Time) bool { return now.UnixNano() < l.validUntil.Load() }

// close lets go of the lease; released marks a clean hand-over (the next
// leader need not wait). Bounded: a broken connection is just dropped.
func (l *lease) close(released bool) {
	if released && !l.conn.IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout/2)
		_, _ = l.conn.Exec(ctx, `UPDATE messaging_relay_checkpoints SET released = true WHERE name = $1 AND epoch = $2`, l.name, l.epoch)
		cancel()
	}
	closeConn(l.conn)
}

// load returns the relay's checkpoint (zero Cursor when it has none).
func (l *lease) load(ctx context.Context) (Cursor, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	var c Cursor
	var tx, epoch int64
	err := l.conn.QueryRow(ctx, `SELECT tx_id, position, epoch FROM messaging_relay_checkpoints WHERE name = $1`, l.name).Scan(&tx, &c.Position, &epoch)
	if err != nil {
		return Cursor{}, l.wrap("load checkpoint", err)
	}
	if epoch != l.epoch {
		return Cursor{}, l.fenced(epoch)
	}
	c.TxID = uint64(tx)
	return c, nil
}

// save stores the checkpoint through the lease connection, under the
// lease's epoch; a success confirms the lease.
func (l *lease) save(ctx context.Context, c Cursor) error {
	ctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	start := time.Now()
	tag, err := l.conn.Exec(ctx, `UPDATE messaging_relay_checkpoints SET tx_id = $3, position = $4, updated_at = now()
WHERE name = $1 AND epoch = $2`, l.name, l.epoch, int64(c.TxID), c.Position)
	if err != nil {
		return l.wrap("save checkpoint", err)
	}
	if tag.RowsAffected() != 1 {
		return l.fenced(-1)
	}
	l.confirmed(start)
	return nil
}

// confirm checks, through the lease connection, that the lease's epoch is
// still the current one, and extends the lease.
func (l *lease) confirm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.callTimeout())
	defer cancel()
	start := time.Now()
	var epoch int64
	if err := l.conn.QueryRow(ctx, `SELECT epoch FROM messaging_relay_checkpoints WHERE name = $1`, l.name).Scan(&epoch); err != nil {
		return l.wrap("confirm lease", err)
	}
	if epoch != l.epoch {
		return l.fenced(epoch)
	}
	l.confirmed(start)
	return nil
}

func (l *lease) fenced(epoch int64) error {
	if epoch < 0 {
		return fmt.Errorf("relay %s: epoch %d is no longer current: %w", l.name, l.epoch, ErrLeaseLost)
	}
	return fmt.Errorf("relay %s: epoch %d replaced by %d: %w", l.name, l.epoch, epoch, ErrLeaseLost)
}

// wrap reports a broken or unresponsive lease connection as ErrLeaseLost.
func (l *lease) wrap(op string, err error) error {
	var pgErr *pgconn.PgError
	if l.conn.IsClosed() || errors.Is(err, context.DeadlineExceeded) || (!errors.As(err, &pgErr) && !errors.Is(err, context.Canceled)) {
		return fmt.Errorf("%s: %w: %w", op, ErrLeaseLost, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
