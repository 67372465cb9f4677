package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is how far one projection got.
type Status struct {
	Name        string
	Position    int64 // highest global position applied
	Lag         int64 // events of its types in the store beyond Position
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
		s := Status{Name: p.Name()}
		var lastErr *string
		var lastErrAt, lastEv, rebuilt, updated *time.Time
		err := r.pool.QueryRow(ctx, `SELECT failures, last_error, last_error_at, rebuilt_at, updated_at
			FROM read.projection_status WHERE name = $1`, p.Name()).Scan(&s.Failures, &lastErr, &lastErrAt, &rebuilt, &updated)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) { // no row: the projector never ran
			return nil, fmt.Errorf("status %s: %w", p.Name(), err)
		}
		var exists bool
		if err := r.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualify(streamsTable(p))).Scan(&exists); err != nil {
			return nil, fmt.Errorf("status %s: %w", p.Name(), err)
		}
		if exists {
			if err := r.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0), coalesce(sum(version), 0)::bigint, count(*), max(recorded_at)
				FROM `+qualify(streamsTable(p))).Scan(&s.Position, &s.Applied, &s.Streams, &lastEv); err != nil {
				return nil, fmt.Errorf("status %s: %w", p.Name(), err)
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
		if s.Lag, err = countEvents(ctx, r.pool, p.EventTypes(), s.Position); err != nil {
			return nil, fmt.Errorf("status %s: %w", p.Name(), err)
		}
		out = append(out, s)
	}
	return out, nil
}
