package saga

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Operator functions: they need only the database, not the definitions, so
// the strata CLI can call them.

// ListOptions filters List.
type ListOptions struct {
	Status Status // only this status ("" any)
	// Stuck keeps sagas that need a look: PARKED ones, and non-terminal ones
	// whose deadline is overdue by StuckAfter or that have not changed for
	// StuckAfter.
	Stuck      bool
	StuckAfter time.Duration // 5m
	Now        time.Time     // time.Now when zero
	Limit      int           // 100
}

// List returns saga instances, the most recently changed first.
func List(ctx context.Context, q Querier, opt ListOptions) ([]Instance, error) {
	if opt.Limit <= 0 {
		opt.Limit = 100
	}
	if opt.StuckAfter <= 0 {
		opt.StuckAfter = 5 * time.Minute
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	before := opt.Now.Add(-opt.StuckAfter)
	rows, err := q.Query(ctx, `SELECT `+instanceColumns+` FROM saga.instances i
		LEFT JOIN saga.deadlines d ON d.saga_id = i.id
		WHERE ($1 = '' OR i.status = $1)
		  AND (NOT $2 OR i.status = 'PARKED'
		       OR (i.status IN ('RUNNING','COMPENSATING') AND (i.updated_at < $3 OR d.due_at < $3)))
		ORDER BY i.updated_at DESC, i.id LIMIT $4`, string(opt.Status), opt.Stuck, before, opt.Limit)
	if err != nil {
		return nil, fmt.Errorf("list sagas: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		inst, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("list sagas: %w", err)
		}
		out = append(out, inst)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sagas: %w", err)
	}
	return out, nil
}

// Get returns a saga instance and its full step log, in order.
func Get(ctx context.Context, q Querier, id string) (Instance, []StepRecord, error) {
	inst, _, err := loadInstance(ctx, q, id)
	if err != nil {
		return inst, nil, err
	}
	rows, err := q.Query(ctx, `SELECT saga_id, seq, step, kind, attempt, command_id, command_type, status, reason, result, started_at, finished_at
		FROM saga.steps WHERE saga_id = $1 ORDER BY seq`, id)
	if err != nil {
		return inst, nil, fmt.Errorf("saga %s steps: %w", id, err)
	}
	defer rows.Close()
	var steps []StepRecord
	for rows.Next() {
		var r StepRecord
		var kind, status string
		var result []byte
		if err := rows.Scan(&r.SagaID, &r.Seq, &r.Step, &kind, &r.Attempt, &r.CommandID, &r.CommandType, &status,
			&r.Reason, &result, &r.StartedAt, &r.FinishedAt); err != nil {
			return inst, nil, fmt.Errorf("saga %s steps: %w", id, err)
		}
		r.Kind, r.Status, r.Result = Kind(kind), StepStatus(status), result
		steps = append(steps, r)
	}
	if err := rows.Err(); err != nil {
		return inst, nil, fmt.Errorf("saga %s steps: %w", id, err)
	}
	return inst, steps, nil
}

// Retry puts a PARKED saga back to where it parked (compensating, or running
// for a saga the engine refused mid-step): its attempt count is reset and a
// retry deadline due at once makes the next FireDue (in any running
// orchestrator) send the step's compensation (or action) again. The request is written in
// the step log as an operator row.
func Retry(ctx context.Context, db DB, id string, now time.Time) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("retry saga %s: begin: %w", id, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	inst, nextSeq, err := loadInstance(ctx, tx, id)
	if err != nil {
		return fmt.Errorf("retry saga %s: %w", id, err)
	}
	if inst.Status != StatusParked {
		return fmt.Errorf("retry saga %s: status %s: %w", id, inst.Status, ErrNotParked)
	}
	// Resume where it parked: a saga refused while running sends its action
	// again, any other sends its compensation again.
	tag, err := tx.Exec(ctx, `UPDATE saga.instances SET
		status = CASE WHEN parked_from = 'RUNNING' THEN 'RUNNING' ELSE 'COMPENSATING' END, parked_from = '',
		attempt=0, pending_seq=0, pending_cmd='',
		reason=$3, version=version+1, updated_at=$4 WHERE id=$1 AND version=$2`,
		id, inst.Version, "retry requested by an operator; was: "+inst.Reason, now)
	if err != nil {
		return fmt.Errorf("retry saga %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("retry saga %s: %w", id, &VersionConflictError{SagaID: id, Expected: inst.Version})
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO saga.steps (saga_id, seq, step, kind, attempt, command_id, status, reason, started_at, finished_at)
		VALUES ($1,$2,'operator','retry',0,'','SUCCEEDED','retry requested',$3,$3)`, id, nextSeq, now)
	b.Queue(`INSERT INTO saga.deadlines (saga_id, command_id, kind, due_at) VALUES ($1,'',$2,'-infinity')
		ON CONFLICT (saga_id) DO UPDATE SET command_id='', kind=$2, due_at='-infinity'`, id, deadlineRetry)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("retry saga %s: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("retry saga %s: commit: %w", id, err)
	}
	return nil
}

// Retry is the package-level Retry with the engine's database and clock.
func (e *Engine) Retry(ctx context.Context, id string) error {
	return Retry(ctx, e.db, id, e.cfg.Clock().UTC())
}

// CountByStatus counts saga instances by (type, status).
func CountByStatus(ctx context.Context, q Querier) (map[[2]string]int, error) {
	rows, err := q.Query(ctx, `SELECT saga_type, status, count(*) FROM saga.instances GROUP BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("count sagas: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var t, s string
		var n int
		if err := rows.Scan(&t, &s, &n); err != nil {
			return nil, fmt.Errorf("count sagas: %w", err)
		}
		out[[2]string{t, s}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sagas: %w", err)
	}
	return out, nil
}

// IsNotFound reports whether err means no such saga.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// CountByStatusFor counts the sagas with the given ids by status (ids with
// no saga are not counted).
func CountByStatusFor(ctx context.Context, q Querier, ids []string) (map[Status]int, error) {
	rows, err := q.Query(ctx, `SELECT status, count(*) FROM saga.instances WHERE id = ANY($1) GROUP BY 1`, ids)
	if err != nil {
		return nil, fmt.Errorf("count sagas: %w", err)
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count sagas: %w", err)
		}
		out[Status(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sagas: %w", err)
	}
	return out, nil
}

// Resolve ends a PARKED saga by hand, as COMPLETED or COMPENSATED, after an
// operator has put things right outside the saga (e.g. refunded by hand).
// Nothing is sent; the decision and the note go into the step log as an
// operator row.
func Resolve(ctx context.Context, db DB, id string, as Status, note string, now time.Time) error {
	if as != StatusCompleted && as != StatusCompensated {
		return fmt.Errorf("resolve saga %s: as %q: want COMPLETED or COMPENSATED", id, as)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("resolve saga %s: begin: %w", id, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	inst, nextSeq, err := loadInstance(ctx, tx, id)
	if err != nil {
		return fmt.Errorf("resolve saga %s: %w", id, err)
	}
	if inst.Status != StatusParked {
		return fmt.Errorf("resolve saga %s: status %s: %w", id, inst.Status, ErrNotParked)
	}
	reason := "resolved by an operator as " + string(as)
	if note != "" {
		reason += ": " + note
	}
	tag, err := tx.Exec(ctx, `UPDATE saga.instances SET status=$3, pending_seq=0, pending_cmd='', reason=$4, parked_from='', step_name='',
		version=version+1, updated_at=$5 WHERE id=$1 AND version=$2`, id, inst.Version, string(as), reason+"; was: "+inst.Reason, now)
	if err != nil {
		return fmt.Errorf("resolve saga %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("resolve saga %s: %w", id, &VersionConflictError{SagaID: id, Expected: inst.Version})
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO saga.steps (saga_id, seq, step, kind, attempt, command_id, status, reason, started_at, finished_at)
		VALUES ($1,$2,'operator','resolve',0,'','SUCCEEDED',$3,$4,$4)`, id, nextSeq, reason, now)
	b.Queue(`DELETE FROM saga.deadlines WHERE saga_id=$1`, id)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("resolve saga %s: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("resolve saga %s: commit: %w", id, err)
	}
	return nil
}
