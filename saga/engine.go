package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"

	"github.com/stratahq/strata/observe"
)

// DB is what the engine needs from PostgreSQL: a *pgxpool.Pool satisfies it.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Querier
}

// Querier runs statements: a pool, a connection or a pgx.Tx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Encoder turns a command into the bytes written to the outbox (in
// production the Confluent wire format of its Avro encoding).
type Encoder interface {
	Encode(ctx context.Context, cmd Command) ([]byte, error)
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(ctx context.Context, cmd Command) ([]byte, error)

// Encode calls f.
func (f EncoderFunc) Encode(ctx context.Context, cmd Command) ([]byte, error) { return f(ctx, cmd) }

// Config configures an Engine. Zero values take the documented defaults.
type Config struct {
	Encoder                 Encoder               // required
	Clock                   func() time.Time      // time.Now
	MaxCompensationAttempts int                   // 3: attempts before a saga parks
	CompensationRetryDelay  time.Duration         // 1s: back-off between compensation attempts
	ConflictRetries         int                   // 8: reloads on a version conflict in HandleReply/Start
	Registerer              prometheus.Registerer // nil: metrics are not registered
	Logger                  *slog.Logger          // slog.Default()
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Encoder == nil {
		errs = append(errs, errors.New("saga config: Encoder is required"))
	}
	if c.MaxCompensationAttempts < 0 {
		errs = append(errs, errors.New("saga config: MaxCompensationAttempts < 0"))
	}
	if c.CompensationRetryDelay < 0 {
		errs = append(errs, errors.New("saga config: CompensationRetryDelay < 0"))
	}
	return errors.Join(errs...)
}

// Engine runs saga instances of the registered definitions.
type Engine struct {
	db      DB
	cfg     Config
	defs    map[string]map[int]*Definition // type -> version -> definition
	latest  map[string]*Definition         // type -> highest version: new instances start on it
	metrics *Metrics
	nudge   chan struct{}
}

// New returns an engine for the definitions. Call Migrate first.
func New(db DB, cfg Config, defs ...*Definition) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxCompensationAttempts == 0 {
		cfg.MaxCompensationAttempts = 3
	}
	if cfg.CompensationRetryDelay == 0 {
		cfg.CompensationRetryDelay = time.Second
	}
	if cfg.ConflictRetries == 0 {
		cfg.ConflictRetries = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{db: db, cfg: cfg, defs: map[string]map[int]*Definition{}, latest: map[string]*Definition{}, nudge: make(chan struct{}, 1)}
	var errs []error
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if e.defs[d.Type] == nil {
			e.defs[d.Type] = map[int]*Definition{}
		}
		if e.defs[d.Type][d.version()] != nil {
			errs = append(errs, fmt.Errorf("saga %s: version %d registered twice", d.Type, d.version()))
			continue
		}
		e.defs[d.Type][d.version()] = d
		if l := e.latest[d.Type]; l == nil || l.version() < d.version() {
			e.latest[d.Type] = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	e.metrics = m
	return e, nil
}

// Metrics returns the engine's counters (for tests and dashboards).
func (e *Engine) Metrics() *Metrics { return e.metrics }

func (e *Engine) machine(d *Definition, nextSeq int) *machine {
	return &machine{
		def: d, now: e.cfg.Clock().UTC().Truncate(time.Microsecond),
		compRetry: RetryPolicy{MaxAttempts: e.cfg.MaxCompensationAttempts, InitialInterval: e.cfg.CompensationRetryDelay,
			BackoffCoefficient: 2, MaxInterval: 100 * e.cfg.CompensationRetryDelay},
		nextSeq: nextSeq,
	}
}

// Start starts a saga of type sagaType with id and input data (marshalled to
// JSON) in its own transaction. It reports false, without error, when a saga
// with that id exists already (a duplicate start event).
func (e *Engine) Start(ctx context.Context, sagaType, id string, data any) (bool, error) {
	var started bool
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		started, err = e.StartTx(ctx, tx, sagaType, id, data)
		return err
	})
	return started, err
}

// StartTx is Start inside the caller's transaction (e.g. the consumer
// runtime's, so the processed-event marker commits with the saga).
func (e *Engine) StartTx(ctx context.Context, tx pgx.Tx, sagaType, id string, data any) (bool, error) {
	d, ok := e.latest[sagaType]
	if !ok {
		return false, fmt.Errorf("start %s %s: %w", sagaType, id, ErrUnknownType)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return false, fmt.Errorf("start %s %s: marshal data: %w", sagaType, id, err)
	}
	m := e.machine(d, 1)
	inst := Instance{ID: id, Type: sagaType, DefinitionVersion: d.version(), Data: raw, CreatedAt: m.now, UpdatedAt: m.now}
	o, err := m.step(inst, event{kind: evStart})
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO saga.instances
		(id, saga_type, status, step, attempt, pending_seq, pending_cmd, data, results, failed_step, reason, version, created_at, updated_at,
		 step_name, definition_version, parked_from)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,1,$12,$12,$13,$14,$15) ON CONFLICT (id) DO NOTHING`,
		o.inst.ID, o.inst.Type, string(o.inst.Status), o.inst.Step, o.inst.Attempt, o.inst.PendingSeq, o.inst.PendingCmd,
		raw, mustJSON(o.inst.Results), o.inst.FailedStep, o.inst.Reason, m.now,
		stepName(d, o.inst), o.inst.DefinitionVersion, string(o.inst.ParkedFrom))
	if err != nil {
		return false, fmt.Errorf("start %s %s: insert: %w", sagaType, id, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if err := e.write(ctx, tx, o); err != nil {
		return false, fmt.Errorf("start %s %s: %w", sagaType, id, err)
	}
	e.metrics.observe(sagaType, append([]string{"started"}, o.notes...))
	e.poke(o)
	return true, nil
}

// HandleReply applies a participant's reply in its own transaction, reloading
// and retrying on version conflicts. applied is false for a duplicate, late or
// unknown reply, which changes nothing.
func (e *Engine) HandleReply(ctx context.Context, r Reply) (applied bool, err error) {
	for attempt := 0; ; attempt++ {
		err = e.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			applied, err = e.HandleReplyTx(ctx, tx, r)
			return err
		})
		if err == nil || !IsRetryable(err) || attempt >= e.cfg.ConflictRetries {
			return applied, err
		}
	}
}

// HandleReplyTx is HandleReply inside the caller's transaction; a version
// conflict is returned (IsRetryable) for the caller to retry. A reply for an
// unknown saga is ignored (applied false, no error).
func (e *Engine) HandleReplyTx(ctx context.Context, tx pgx.Tx, r Reply) (bool, error) {
	inst, nextSeq, err := loadInstance(ctx, tx, r.SagaID)
	if errors.Is(err, ErrNotFound) {
		e.cfg.Logger.DebugContext(ctx, "saga reply for unknown saga", "saga_id", r.SagaID, "step", r.Step)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return e.apply(ctx, tx, inst, nextSeq, event{kind: evReply, reply: r})
}

func (e *Engine) apply(ctx context.Context, tx pgx.Tx, inst Instance, nextSeq int, ev event) (bool, error) {
	versions, ok := e.defs[inst.Type]
	if !ok {
		return false, fmt.Errorf("saga %s of type %s: %w", inst.ID, inst.Type, ErrUnknownType)
	}
	d, ok := versions[inst.DefinitionVersion]
	if !ok {
		return e.refuse(ctx, tx, inst, nextSeq, fmt.Errorf("saga %s runs on version %d of %s, which this orchestrator does not have (it has %v): %w",
			inst.ID, inst.DefinitionVersion, inst.Type, sortedVersions(versions), ErrUnknownVersion))
	}
	idx, err := resolveStep(d, inst)
	if err != nil {
		return e.refuse(ctx, tx, inst, nextSeq, err)
	}
	inst.Step = idx
	o, err := e.machine(d, nextSeq).step(inst, ev)
	if pe, ok := errors.AsType[*PanicError](err); ok {
		e.cfg.Logger.ErrorContext(ctx, "saga engine panic", "saga_id", inst.ID, "panic", pe.Value, "stack", string(pe.Stack))
		return e.refuse(ctx, tx, inst, nextSeq, pe)
	}
	if err != nil {
		return false, err
	}
	if o.ignored != "" {
		e.metrics.ignored.WithLabelValues(inst.Type).Inc()
		e.cfg.Logger.DebugContext(ctx, "saga event ignored", "saga_id", inst.ID, "why", o.ignored)
		return false, nil
	}
	tag, err := tx.Exec(ctx, `UPDATE saga.instances SET status=$3, step=$4, attempt=$5, pending_seq=$6, pending_cmd=$7,
		results=$8, failed_step=$9, reason=$10, version=version+1, updated_at=$11, step_name=$12, parked_from=$13
		WHERE id=$1 AND version=$2`,
		inst.ID, inst.Version, string(o.inst.Status), o.inst.Step, o.inst.Attempt, o.inst.PendingSeq, o.inst.PendingCmd,
		mustJSON(o.inst.Results), o.inst.FailedStep, o.inst.Reason, o.inst.UpdatedAt, stepName(d, o.inst), string(o.inst.ParkedFrom))
	if err != nil {
		return false, fmt.Errorf("saga %s: update: %w", inst.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, &VersionConflictError{SagaID: inst.ID, Expected: inst.Version}
	}
	if err := e.write(ctx, tx, o); err != nil {
		return false, fmt.Errorf("saga %s: %w", inst.ID, err)
	}
	e.metrics.observe(inst.Type, o.notes)
	e.poke(o)
	return true, nil
}

// refuse parks an instance the engine cannot run (its definition version or
// step is unknown, or the transition panicked), with why as the reason and a
// step-log row. Nothing is sent; the deadline is dropped. An operator deploys
// the missing version (or fixes the bug) and retries it (Retry resumes it in
// the status it had).
func (e *Engine) refuse(ctx context.Context, tx pgx.Tx, inst Instance, nextSeq int, why error) (bool, error) {
	if inst.Status.Terminal() || inst.Status == StatusParked {
		// Nothing runs for it: a reply or deadline for it is dropped.
		e.metrics.ignored.WithLabelValues(inst.Type).Inc()
		e.cfg.Logger.WarnContext(ctx, "saga event dropped", "saga_id", inst.ID, "status", inst.Status, "why", why)
		return false, nil
	}
	now := e.cfg.Clock().UTC().Truncate(time.Microsecond)
	reason := "refused by the engine: " + why.Error()
	tag, err := tx.Exec(ctx, `UPDATE saga.instances SET status='PARKED', parked_from=$3, pending_seq=0, pending_cmd='',
		reason=$4, version=version+1, updated_at=$5 WHERE id=$1 AND version=$2`, inst.ID, inst.Version, string(inst.Status), reason, now)
	if err != nil {
		return false, fmt.Errorf("saga %s: park: %w", inst.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, &VersionConflictError{SagaID: inst.ID, Expected: inst.Version}
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO saga.steps (saga_id, seq, step, kind, attempt, command_id, status, reason, started_at, finished_at)
		VALUES ($1,$2,'engine','refused',0,'','FAILED',$3,$4,$4)`, inst.ID, nextSeq, reason, now)
	b.Queue(`DELETE FROM saga.deadlines WHERE saga_id=$1`, inst.ID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("saga %s: park: %w", inst.ID, err)
	}
	e.cfg.Logger.ErrorContext(ctx, "saga parked", "saga_id", inst.ID, "reason", reason)
	e.metrics.observe(inst.Type, []string{"parked"})
	return true, nil
}

// resolveStep finds the index of the instance's stored step in d.
func resolveStep(d *Definition, inst Instance) (int, error) {
	switch {
	case inst.Status == StatusCompleted && inst.StepName == "":
		return len(d.Steps), nil
	case inst.Status == StatusCompensated && inst.StepName == "":
		return -1, nil
	}
	for i, s := range d.Steps {
		if s.Name == inst.StepName {
			return i, nil
		}
	}
	return 0, fmt.Errorf("saga %s: step %q is not in version %d of %s: %w", inst.ID, inst.StepName, d.version(), d.Type, ErrUnknownStep)
}

// stepName is the name stored for the instance's step ("" past either end).
func stepName(d *Definition, inst Instance) string {
	if inst.Step < 0 || inst.Step >= len(d.Steps) {
		return ""
	}
	return d.Steps[inst.Step].Name
}

func sortedVersions(m map[int]*Definition) []int {
	out := make([]int, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// write stores the step log, outbox and deadline changes of an outcome.
func (e *Engine) write(ctx context.Context, tx pgx.Tx, o outcome) error {
	now := o.inst.UpdatedAt
	b := &pgx.Batch{}
	for _, f := range o.finishes {
		b.Queue(`UPDATE saga.steps SET status=$3, reason=$4, result=$5, finished_at=$6
			WHERE saga_id=$1 AND seq=$2 AND status='PENDING'`,
			o.inst.ID, f.Seq, string(f.Status), f.Reason, nullJSON(f.Result), now)
	}
	for _, r := range o.records {
		b.Queue(`INSERT INTO saga.steps (saga_id, seq, step, kind, attempt, command_id, command_type, status, reason, result, started_at, finished_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
			r.SagaID, r.Seq, r.Step, string(r.Kind), r.Attempt, r.CommandID, r.CommandType, string(r.Status), r.Reason,
			nullJSON(r.Result), r.StartedAt, r.FinishedAt)
	}
	for _, s := range o.sends {
		payload, err := e.cfg.Encoder.Encode(ctx, s.Command)
		if err != nil {
			return fmt.Errorf("encode %s: %w", s.Command.Type, err)
		}
		var step string
		var kind Kind
		for _, r := range o.records {
			if r.Seq == s.Seq {
				step, kind = r.Step, r.Kind
			}
		}
		headers := map[string]string{
			HeaderSagaID: o.inst.ID, HeaderSagaType: o.inst.Type, HeaderSagaStep: step, HeaderSagaKind: string(kind),
		}
		// The trace and the correlation of the reply or event being handled
		// continue in the participant: a W3C traceparent header when ctx
		// carries a span, and the correlation id ctx carries (the client's,
		// from the command that started the flow; the transport falls back to
		// the saga id).
		propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(headers))
		if c := observe.CorrelationID(ctx); c != "" {
			headers[HeaderCorrelationID] = c
		}
		b.Queue(`INSERT INTO saga.outbox (saga_id, command_id, topic, msg_key, msg_type, payload, headers, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			o.inst.ID, s.CommandID, s.Command.Topic, s.Command.Key, s.Command.Type, payload, mustJSON(headers), now)
	}
	if o.clearDeadline || o.deadline != nil {
		b.Queue(`DELETE FROM saga.deadlines WHERE saga_id=$1`, o.inst.ID)
	}
	if o.deadline != nil {
		b.Queue(`INSERT INTO saga.deadlines (saga_id, command_id, kind, due_at) VALUES ($1,$2,$3,$4)`,
			o.inst.ID, o.deadline.CommandID, o.deadline.Kind, o.deadline.DueAt)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write step log, outbox and deadline: %w", err)
	}
	return nil
}

func (e *Engine) poke(o outcome) {
	if len(o.sends) == 0 {
		return
	}
	select {
	case e.nudge <- struct{}{}:
	default:
	}
}

func (e *Engine) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("saga: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("saga: commit: %w", err)
	}
	return nil
}

const instanceColumns = `i.id, i.saga_type, i.status, i.step, i.attempt, i.pending_seq, i.pending_cmd, i.data, i.results,
	i.failed_step, i.reason, i.version, i.created_at, i.updated_at, i.step_name, i.definition_version, i.parked_from`

func scanInstance(row pgx.Row, extra ...any) (Instance, error) {
	var inst Instance
	var status, parkedFrom string
	var results []byte
	dest := append([]any{&inst.ID, &inst.Type, &status, &inst.Step, &inst.Attempt, &inst.PendingSeq, &inst.PendingCmd,
		&inst.Data, &results, &inst.FailedStep, &inst.Reason, &inst.Version, &inst.CreatedAt, &inst.UpdatedAt,
		&inst.StepName, &inst.DefinitionVersion, &parkedFrom}, extra...)
	if err := row.Scan(dest...); err != nil {
		return inst, err
	}
	inst.Status, inst.ParkedFrom = Status(status), Status(parkedFrom)
	if err := json.Unmarshal(results, &inst.Results); err != nil {
		return inst, fmt.Errorf("saga %s: results: %w", inst.ID, err)
	}
	return inst, nil
}

// loadInstance reads an instance and the seq its next step-log row gets.
func loadInstance(ctx context.Context, q Querier, id string) (Instance, int, error) {
	var maxSeq int
	inst, err := scanInstance(q.QueryRow(ctx, `SELECT `+instanceColumns+`,
		(SELECT coalesce(max(s.seq), 0) FROM saga.steps s WHERE s.saga_id = i.id)
		FROM saga.instances i WHERE i.id = $1`, id), &maxSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return inst, 0, fmt.Errorf("saga %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return inst, 0, fmt.Errorf("load saga %s: %w", id, err)
	}
	return inst, maxSeq + 1, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("saga: marshal %T: %v", v, err)) // maps of strings and raw JSON always marshal
	}
	return b
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}
