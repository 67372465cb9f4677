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

// RecordFailure counts a failed attempt to apply ev (outside the failed
// transaction, which rolled back).
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
// live says whether to take the shared lock and update the status row.
func applyTo(ctx context.Context, tx pgx.Tx, p Projection, t Tables, ev Event, live bool) (Outcome, error) {
	if live {
		if err := lockProjection(ctx, tx, p.Name(), false); err != nil {
			return 0, err
		}
	}
	st := t.Get(streamsTable(p))
	var have int64
	err := tx.QueryRow(ctx, `SELECT version FROM `+st+` WHERE stream_id = $1 FOR UPDATE`, ev.StreamID).Scan(&have)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("projection %s: read version of %s: %w", p.Name(), ev.StreamID, err)
	}
	if ev.Version <= have {
		if live {
			if _, err := tx.Exec(ctx, `UPDATE read.projection_status SET skipped = skipped + 1, updated_at = now() WHERE name = $1`, p.Name()); err != nil {
				return 0, fmt.Errorf("projection %s: status: %w", p.Name(), err)
			}
		}
		return Skipped, nil
	}
	if ev.Version != have+1 {
		return 0, &GapError{Projection: p.Name(), Stream: ev.StreamID, Have: have, Got: ev.Version}
	}
	if err := p.Apply(ctx, tx, t, ev); err != nil {
		return 0, fmt.Errorf("projection %s: apply %s %s@%d: %w", p.Name(), ev.Type, ev.StreamID, ev.Version, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+st+` (stream_id, version, position) VALUES ($1, $2, $3)
		ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position`,
		ev.StreamID, ev.Version, ev.Position); err != nil {
		return 0, fmt.Errorf("projection %s: track %s: %w", p.Name(), ev.StreamID, err)
	}
	if live {
		if _, err := tx.Exec(ctx, `UPDATE read.projection_status
			SET position = GREATEST(position, $2), applied = applied + 1, last_event_at = $3, updated_at = now()
			WHERE name = $1`, p.Name(), ev.Position, ev.RecordedAt); err != nil {
			return 0, fmt.Errorf("projection %s: status: %w", p.Name(), err)
		}
	}
	return Applied, nil
}
