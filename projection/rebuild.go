package projection

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
)

// Decoder brings a payload written with any writer schema to the current Go
// type of eventType. The upcasters package's decoder and the messaging
// package's resolving decoder satisfy it.
type Decoder interface {
	Decode(eventType string, writerSchema avro.Schema, payload []byte) (any, error)
}

// Progress is reported while a rebuild runs.
type Progress struct {
	Projection string
	Phase      string // "replay", "catch-up", "swapped"
	Done       int64  // events read from the store so far
	Total      int64  // events of the projection's types in the store when the rebuild started
	Applied    int64  // events written to the shadow tables
	Position   int64  // global position reached
	Elapsed    time.Duration
}

// RebuildOptions tunes a rebuild.
type RebuildOptions struct {
	BatchSize int            // events per read and per transaction; default 500
	Progress  func(Progress) // called after each batch and at the end; may be nil
}

// Rebuild replays the event store into shadow tables of the named projection
// and swaps them in atomically. Live readers and the live runner are not
// disturbed until the swap, which holds the projection's exclusive lock only
// while it catches up on the last few events and renames the tables.
func (r *Runner) Rebuild(ctx context.Context, store *eventstore.Store, dec Decoder, name string, opts RebuildOptions) (Progress, error) {
	p, err := r.Projection(name)
	if err != nil {
		return Progress{}, err
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if err := r.Setup(ctx); err != nil {
		return Progress{}, err
	}
	// One rebuild at a time per projection: a session lock on a dedicated connection.
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return Progress{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext('rebuild:' || $2))`, lockKey, name).Scan(&got); err != nil {
		return Progress{}, fmt.Errorf("rebuild %s: lock: %w", name, err)
	}
	if !got {
		return Progress{}, fmt.Errorf("rebuild %s: %w", name, ErrRebuildRunning)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext('rebuild:' || $2))`, lockKey, name) //nolint:errcheck

	shadow := shadowTables(p)
	if err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		for _, n := range shadow {
			if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+n); err != nil {
				return err
			}
		}
		return createTables(ctx, tx, p, shadow)
	}); err != nil {
		return Progress{}, fmt.Errorf("rebuild %s: create shadow tables: %w", name, err)
	}
	dropShadow := func() {
		c := context.WithoutCancel(ctx)
		for _, n := range shadow {
			_, _ = r.pool.Exec(c, `DROP TABLE IF EXISTS `+n)
		}
	}

	rp := &replayer{store: store, dec: dec, p: p, t: shadow, types: p.EventTypes(), batch: opts.BatchSize, start: time.Now()}
	rp.prog = Progress{Projection: name, Phase: "replay"}
	if rp.prog.Total, err = countEvents(ctx, r.pool, rp.types, 0); err != nil {
		dropShadow()
		return Progress{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	report := func() {
		rp.prog.Elapsed = time.Since(rp.start)
		if opts.Progress != nil {
			opts.Progress(rp.prog)
		}
	}
	report()
	for {
		n := 0
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			var err error
			n, err = rp.batchInto(ctx, tx)
			return err
		})
		if err != nil {
			dropShadow()
			return rp.prog, fmt.Errorf("rebuild %s: replay: %w", name, err)
		}
		if n > 0 {
			report()
		}
		if n < opts.BatchSize {
			break
		}
	}
	// Swap: exclusive lock (waits for in-flight live applies, which take the
	// shared lock before touching any table), catch up, rename. lock_timeout
	// bounds the wait for the lock and for readers of the live tables (a
	// queued RENAME would hold up every new reader behind it); a swap that
	// times out is tried again from the same replay position, so a full
	// replay is never thrown away for a busy moment.
	rp.prog.Phase = "catch-up"
	cursor, prog := rp.cursor, rp.prog
	for attempt := 1; ; attempt++ {
		err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error { return rp.swap(ctx, tx, opts) })
		if err == nil || attempt >= swapAttempts || !isLockTimeout(err) || ctx.Err() != nil {
			break
		}
		rp.cursor, rp.prog = cursor, prog // the failed swap's catch-up rolled back
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		dropShadow()
		return rp.prog, fmt.Errorf("rebuild %s: swap: %w", name, err)
	}
	rp.prog.Phase = "swapped"
	report()
	return rp.prog, nil
}

// swapAttempts is how many times a swap that hit lock_timeout is tried.
const swapAttempts = 5

// swapLockTimeout bounds each lock wait of the swap transaction.
const swapLockTimeout = "3s"

func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03" // lock_not_available
}

// swap takes the projection's exclusive lock, applies what was appended
// since the replay and renames the shadow tables over the live ones.
func (rp *replayer) swap(ctx context.Context, tx pgx.Tx, opts RebuildOptions) error {
	p := rp.p
	name := p.Name()
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+swapLockTimeout+`'`); err != nil {
		return err
	}
	if err := lockProjection(ctx, tx, name, true); err != nil {
		return err
	}
	for {
		n, err := rp.batchInto(ctx, tx)
		if err != nil {
			return err
		}
		if n < opts.BatchSize {
			break
		}
	}
	live, shadow := liveTables(p), rp.t
	for _, logical := range allTables(p) {
		old := logical + "__old"
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+qualify(old)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE IF EXISTS `+live[logical]+` RENAME TO `+quote(old)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+shadow[logical]+` RENAME TO `+quote(logical)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+qualify(old)); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE read.projection_status SET rebuilt_at = now(), updated_at = now() WHERE name = $1`, name)
	return err
}

// replayer reads the store in commit-safe order and applies to shadow tables.
type replayer struct {
	store  *eventstore.Store
	dec    Decoder
	p      Projection
	t      Tables
	types  []string
	batch  int
	cursor eventstore.Cursor
	prog   Progress
	start  time.Time

	mu      sync.Mutex
	schemas map[eventstore.Fingerprint]avro.Schema
}

func (rp *replayer) batchInto(ctx context.Context, tx pgx.Tx) (int, error) {
	recs, err := rp.store.ReadByType(ctx, rp.types, rp.cursor, time.Time{}, rp.batch)
	if err != nil {
		return 0, err
	}
	for i := range recs {
		rec := &recs[i]
		ev, err := rp.decode(ctx, rec)
		if err != nil {
			return 0, err
		}
		o, err := applyTo(ctx, tx, rp.p, rp.t, ev, false)
		if err != nil {
			return 0, err
		}
		if o == Applied {
			rp.prog.Applied++
		}
		rp.prog.Done++
		rp.prog.Position = max(rp.prog.Position, rec.Position)
		rp.cursor = rec.Cursor()
	}
	return len(recs), nil
}

func (rp *replayer) decode(ctx context.Context, rec *eventstore.RecordedEvent) (Event, error) {
	writer, err := rp.writer(ctx, rec.Fingerprint)
	if err != nil {
		return Event{}, err
	}
	v, err := rp.dec.Decode(rec.Type, writer, rec.Payload)
	if err != nil {
		return Event{}, &eventstore.DecodeError{Stream: rec.StreamID, Version: rec.Version, Type: rec.Type, Err: err}
	}
	return Event{
		ID: rec.ID.String(), Type: rec.Type, StreamID: rec.StreamID, StreamType: rec.StreamType,
		Version: rec.Version, Position: rec.Position, RecordedAt: rec.RecordedAt, Data: v,
	}, nil
}

func (rp *replayer) writer(ctx context.Context, fp eventstore.Fingerprint) (avro.Schema, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if s, ok := rp.schemas[fp]; ok {
		return s, nil
	}
	sc, err := rp.store.Schema(ctx, fp)
	if err != nil {
		return nil, err
	}
	// A private cache: older versions of a named type must not meet the current one.
	s, err := avro.ParseWithCache(sc.JSON, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("parse writer schema %s: %w", fp, err)
	}
	if rp.schemas == nil {
		rp.schemas = map[eventstore.Fingerprint]avro.Schema{}
	}
	rp.schemas[fp] = s
	return s, nil
}

// countEvents counts the store's events of the types after position (0: all).
// It reads the event store's events table directly (read-only).
func countEvents(ctx context.Context, pool *pgxpool.Pool, types []string, after int64) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = ANY($1) AND position > $2`, types, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
