package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status is how far one projection got.
type Status struct {
	Name        string
	Position    int64 // highest global position applied
	Lag         int64 // events of its types in the store beyond Position (-1: unknown)
	Applied     int64 // events applied (the sum of the tracked stream versions)
	Streams     int64 // streams tracked
	Failures    int64 // failed apply attempts
	LastError   string
	LastErrorAt time.Time
	LastEventAt time.Time // recorded time of the latest applied event
	RebuiltAt   time.Time
	UpdatedAt   time.Time
}

// Status reports every projection of the runner. Position, Applied and
// LastEventAt come from the projection's tracking table (exact, written in
// the apply transactions); failures from read.projection_status. Lag counts
// events in the store with a higher position; since positions are insertion
// order, not commit order, it is exact once the writers are idle and an upper
// bound while they run.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	if err := Migrate(ctx, r.pool); err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(r.projections))
	for _, p := range r.projections {
		s, err := statusOf(ctx, r.pool, p.Name(), p.EventTypes())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// StatusAll reports every projection a runner has set up in the database
// behind pool, without their code: names and event types come from
// read.projection_status (Setup records them). Lag is -1 for a projection
// whose event types are not recorded (set up by an older Strata). It is what
// `strata projection status` prints.
func StatusAll(ctx context.Context, pool *pgxpool.Pool) ([]Status, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('read.projection_status') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	if !exists {
		return nil, nil // no projection ever ran here
	}
	// A status table from before event_types (no runner of this version set
	// up yet): names only, lag unknown. Status only reads.
	cols := `name, event_types`
	var hasTypes bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'read' AND table_name = 'projection_status' AND column_name = 'event_types')`).Scan(&hasTypes); err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	if !hasTypes {
		cols = `name, NULL::text[]`
	}
	rows, err := pool.Query(ctx, `SELECT `+cols+` FROM read.projection_status ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	type named struct {
		name  string
		types []string
	}
	var ps []named
	for rows.Next() {
		var n named
		if err := rows.Scan(&n.name, &n.types); err != nil {
			rows.Close()
			return nil, fmt.Errorf("projection status: %w", err)
		}
		ps = append(ps, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		s, err := statusOf(ctx, pool, p.name, p.types)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// statusOf reads one projection's status; types nil: lag unknown (-1).
func statusOf(ctx context.Context, pool *pgxpool.Pool, name string, types []string) (Status, error) {
	s := Status{Name: name}
	var lastErr *string
	var lastErrAt, lastEv, rebuilt, updated *time.Time
	err := pool.QueryRow(ctx, `SELECT failures, last_error, last_error_at, rebuilt_at, updated_at
		FROM read.projection_status WHERE name = $1`, name).Scan(&s.Failures, &lastErr, &lastErrAt, &rebuilt, &updated)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) { // no row: the projector never ran
		return s, fmt.Errorf("status %s: %w", name, err)
	}
	tracking := qualify(name + "__streams")
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, tracking).Scan(&exists); err != nil {
		return s, fmt.Errorf("status %s: %w", name, err)
	}
	if exists {
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(position), 0), coalesce(sum(version), 0)::bigint, count(*), max(recorded_at)
			FROM `+tracking).Scan(&s.Position, &s.Applied, &s.Streams, &lastEv); err != nil {
			return s, fmt.Errorf("status %s: %w", name, err)
		}
	}
	if lastErr != nil {
		s.LastError = *lastErr
	}
	for _, f := range []struct {
		src *time.Time
		dst *time.Time
	}{{lastErrAt, &s.LastErrorAt}, {lastEv, &s.LastEventAt}, {rebuilt, &s.RebuiltAt}, {updated, &s.UpdatedAt}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	s.Lag = -1
	if types != nil {
		if s.Lag, err = countEvents(ctx, pool, types, s.Position); err != nil {
			return s, fmt.Errorf("status %s: %w", name, err)
		}
	}
	return s, nil
}
