package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Outcome says what Apply did with an event for one projection.
type Outcome int

// Outcomes.
const (
	Applied Outcome = iota // written
	Skipped                // already applied (version at or below the tracked one)
	Ignored                // the projection does not consume this event type
)

// Runner applies events to a set of projections.
type Runner struct {
	pool        *pgxpool.Pool
	projections []Projection
	byType      map[string][]Projection
	now         func() time.Time
	// OnApply, when set, is called after each applied event (for metrics);
	// it runs inside the transaction, before commit.
	OnApply func(p Projection, ev Event, o Outcome)
}

// NewRunner returns a runner for the projections.
func NewRunner(pool *pgxpool.Pool, ps ...Projection) *Runner {
	r := &Runner{pool: pool, projections: ps, byType: map[string][]Projection{}, now: time.Now}
	for _, p := range ps {
		for _, t := range p.EventTypes() {
			r.byType[t] = append(r.byType[t], p)
		}
	}
	return r
}

// Projections returns the runner's projections.
func (r *Runner) Projections() []Projection { return slices.Clone(r.projections) }

// Projection returns the projection with the name.
func (r *Runner) Projection(name string) (Projection, error) {
	for _, p := range r.projections {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProjection, name)
}

// EventTypes lists every event type some projection consumes.
func (r *Runner) EventTypes() []string {
	out := make([]string, 0, len(r.byType))
	for t := range r.byType {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Setup creates the read schema, the status table and each projection's live
// tables when they do not exist.
func (r *Runner) Setup(ctx context.Context) error {
	if err := Migrate(ctx, r.pool); err != nil {
		return err
	}
	for _, p := range r.projections {
		if err := setup(ctx, r.pool, p); err != nil {
			return err
		}
	}
	return nil
}

// Apply applies ev to every projection that consumes its type, inside tx
// (the consumer's transaction, which also holds the processed-event marker).
func (r *Runner) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	for _, p := range r.byType[ev.Type] {
		o, err := applyTo(ctx, tx, p, liveTables(p), ev, true)
		if err != nil {
			return err
		}
		if r.OnApply != nil {
			r.OnApply(p, ev, o)
		}
	}
	return nil
}

// RecordFailure counts a failed attempt to apply ev. Call it outside the
// failed transaction, after it rolled back: it takes a pool connection of its
// own (Register does so through the router's failure hook).
func (r *Runner) RecordFailure(ctx context.Context, ev Event, cause error) {
	for _, p := range r.byType[ev.Type] {
		_, _ = r.pool.Exec(ctx, `UPDATE read.projection_status
			SET failures = failures + 1, last_error = $2, last_error_at = now(), updated_at = now() WHERE name = $1`,
			p.Name(), truncate(cause.Error(), 2000))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// applyTo is the exactly-once apply of one event to one projection's tables.
// live says whether to take the projection's shared lock (held against a
// rebuild's swap). The lock is taken by a statement of its own, before the
// transaction touches any of the projection's tables: a swap holding the
// exclusive lock then waits for no live transaction that waits for it (a
// statement that names a table locks it before it runs, so taking the
// advisory lock inside the tracking INSERT would hold the table lock while
// waiting for the swap, and the swap's RENAME would wait for that: a
// deadlock). One statement then advances the stream's tracked version only if
// the event is the next one; the projection's own writes follow in the same
// transaction. Counters and the position shown by Status are derived from the
// tracking table, so the hot path writes no shared status row.
//
// The version check follows what the projection subscribes to: versions
// skipped because their events are of types the projection does not consume
// are no gap (the consumer passes over those without calling the runner). A
// skipped version is a gap only when the event store holds an event of a
// consumed type there (an event that failed, was dead-lettered or is late).
func applyTo(ctx context.Context, tx pgx.Tx, p Projection, t Tables, ev Event, live bool) (Outcome, error) {
	st := t.Get(streamsTable(p))
	if live {
		if err := lockProjection(ctx, tx, p.Name(), false); err != nil {
			return 0, err
		}
	}
	var inserted bool
	err := tx.QueryRow(ctx, `INSERT INTO `+st+` AS s (stream_id, version, position, recorded_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position, recorded_at = EXCLUDED.recorded_at
		WHERE s.version = EXCLUDED.version - 1
		RETURNING (xmax = 0)`, ev.StreamID, ev.Version, ev.Position, ev.RecordedAt).Scan(&inserted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// The stream is tracked at another version than ev.Version-1.
		var have int64
		if err := tx.QueryRow(ctx, `SELECT version FROM `+st+` WHERE stream_id = $1`, ev.StreamID).Scan(&have); err != nil {
			return 0, fmt.Errorf("projection %s: read version of %s: %w", p.Name(), ev.StreamID, err)
		}
		if ev.Version <= have {
			return Skipped, nil
		}
		if err := checkSkipped(ctx, tx, p, ev, have); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE `+st+` SET version = $2, position = $3, recorded_at = $4 WHERE stream_id = $1`,
			ev.StreamID, ev.Version, ev.Position, ev.RecordedAt); err != nil {
			return 0, fmt.Errorf("projection %s: track %s: %w", p.Name(), ev.StreamID, err)
		}
	case err != nil:
		return 0, fmt.Errorf("projection %s: track %s: %w", p.Name(), ev.StreamID, err)
	case inserted && ev.Version != 1:
		if err := checkSkipped(ctx, tx, p, ev, 0); err != nil {
			return 0, err
		}
	}
	if err := p.Apply(ctx, tx, t, ev); err != nil {
		return 0, fmt.Errorf("projection %s: apply %s %s@%d: %w", p.Name(), ev.Type, ev.StreamID, ev.Version, err)
	}
	return Applied, nil
}

// checkSkipped returns a *GapError when the event store holds an event of a
// type p consumes in ev's stream after version have and before ev.
func checkSkipped(ctx context.Context, tx pgx.Tx, p Projection, ev Event, have int64) error {
	var missing bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events
		WHERE stream_id = $1 AND version > $2 AND version < $3 AND event_type = ANY($4))`,
		ev.StreamID, have, ev.Version, p.EventTypes()).Scan(&missing)
	if err != nil {
		return fmt.Errorf("projection %s: check versions %d..%d of %s: %w", p.Name(), have+1, ev.Version-1, ev.StreamID, err)
	}
	if missing {
		return &GapError{Projection: p.Name(), Stream: ev.StreamID, Have: have, Got: ev.Version}
	}
	return nil
}
