package eventstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/eventstore/internal/db"
)

// Decoder turns a stored event into its current Go value. It is the upcasting
// hook: every event the repository reads goes through it, with the writer
// schema the event was stored with (upcasters' Decode fits behind a small
// adapter that parses Schema.JSON).
type Decoder interface {
	Decode(eventType string, writer Schema, payload []byte) (any, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(eventType string, writer Schema, payload []byte) (any, error)

// Decode calls f.
func (f DecoderFunc) Decode(eventType string, writer Schema, payload []byte) (any, error) {
	return f(eventType, writer, payload)
}

// Encoder gives a domain event's stored form: its writer schema (Name is the
// event type) and payload (serde's Registry.Encode fits behind a small adapter).
type Encoder interface {
	Encode(v any) (Schema, []byte, error)
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(v any) (Schema, []byte, error)

// Encode calls f.
func (f EncoderFunc) Encode(v any) (Schema, []byte, error) { return f(v) }

// SnapshotCodec encodes an aggregate's state for snapshots. Version is the
// shape of the encoding: bump it whenever the encoding changes; snapshots of
// any other version are ignored and the stream is replayed instead.
type SnapshotCodec[S any] struct {
	Version int32
	Encode  func(S) ([]byte, error)
	Decode  func([]byte) (S, error)
}

// RepositoryConfig describes an aggregate type to NewRepository.
type RepositoryConfig[S any] struct {
	// StreamType is stored with every stream of this aggregate (e.g. "order").
	StreamType string
	// Initial returns the state of an aggregate with no events.
	Initial func(id string) S
	// Apply folds one decoded event into the state. Unknown events must be errors.
	Apply func(state S, event any) (S, error)
	// Encoder and Decoder convert events to and from their stored form.
	Encoder Encoder
	Decoder Decoder
	// Snapshots, when set, enables snapshots every SnapshotEvery events.
	Snapshots *SnapshotCodec[S]
	// SnapshotEvery is the snapshot interval in events; default 100.
	SnapshotEvery int64
	// NewEventID gives ids to new events; default uuid.NewRandom. Pass
	// WithEventIDs to Execute for ids derived from a command id.
	NewEventID func() (uuid.UUID, error)
}

// Validate reports every problem with c at once.
func (c RepositoryConfig[S]) Validate() error {
	var errs []error
	if c.StreamType == "" {
		errs = append(errs, errors.New("StreamType is empty"))
	}
	if c.Initial == nil {
		errs = append(errs, errors.New("Initial is nil"))
	}
	if c.Apply == nil {
		errs = append(errs, errors.New("Apply is nil"))
	}
	if c.Encoder == nil {
		errs = append(errs, errors.New("Encoder is nil"))
	}
	if c.Decoder == nil {
		errs = append(errs, errors.New("Decoder is nil"))
	}
	if c.SnapshotEvery < 0 {
		errs = append(errs, fmt.Errorf("SnapshotEvery %d < 0", c.SnapshotEvery))
	}
	if s := c.Snapshots; s != nil && (s.Encode == nil || s.Decode == nil) {
		errs = append(errs, errors.New("Snapshots needs Encode and Decode"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: repository config: %w", ErrInvalidArgument, errors.Join(errs...))
	}
	return nil
}

// Repository loads and saves aggregates of one type: the latest snapshot plus
// the events after it, decoded through the upcasting hook.
type Repository[S any] struct {
	store *Store
	cfg   RepositoryConfig[S]
}

// NewRepository returns a repository for one aggregate type.
func NewRepository[S any](store *Store, cfg RepositoryConfig[S]) (*Repository[S], error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidArgument)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 100
	}
	if cfg.NewEventID == nil {
		cfg.NewEventID = uuid.NewRandom
	}
	return &Repository[S]{store: store, cfg: cfg}, nil
}

// Loaded is an aggregate's state at a version.
type Loaded[S any] struct {
	ID      string
	State   S
	Version int64 // version of the last event folded in; 0 = new aggregate
	// FromSnapshot is the version of the snapshot the load started from (0: none).
	FromSnapshot int64
	// Replayed counts the events decoded and applied by the load.
	Replayed int
}

// Load returns the aggregate's current state: the latest usable snapshot plus
// the events after it. An aggregate without events has the Initial state at
// version 0. A tombstoned stream returns a *StreamDeletedError.
func (r *Repository[S]) Load(ctx context.Context, id string) (Loaded[S], error) {
	l, err := r.load(ctx, id, r.cfg.Snapshots != nil)
	if err != nil {
		return l, fmt.Errorf("load %s %s: %w", r.cfg.StreamType, id, err)
	}
	return l, nil
}

// Replay is Load without snapshots: every stored event is decoded and applied.
func (r *Repository[S]) Replay(ctx context.Context, id string) (Loaded[S], error) {
	l, err := r.load(ctx, id, false)
	if err != nil {
		return l, fmt.Errorf("replay %s %s: %w", r.cfg.StreamType, id, err)
	}
	return l, nil
}

const loadPage = 1000

func (r *Repository[S]) load(ctx context.Context, id string, useSnapshot bool) (Loaded[S], error) {
	l := Loaded[S]{ID: id, State: r.cfg.Initial(id)}
	info, err := r.store.Stream(ctx, id)
	if errors.Is(err, ErrStreamNotFound) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	if info.Tombstoned {
		return l, &StreamDeletedError{Stream: id}
	}
	if info.Type != r.cfg.StreamType {
		return l, fmt.Errorf("%w: stream %s has type %s", ErrStreamTypeMismatch, id, info.Type)
	}
	if useSnapshot {
		st, v, ok, err := r.snapshot(ctx, id, info.Version)
		if err != nil {
			return l, err
		}
		if ok {
			l.State, l.Version, l.FromSnapshot = st, v, v
		}
	}
	// Truncation hides old versions from loads that start from a snapshot
	// at or after it. Without one (a new snapshot shape, Replay), folding from
	// the truncation point would give a wrong state: fold from the start, as
	// the truncated events stay stored; refuse when they are gone.
	from := max(l.Version+1, info.TruncatedBefore, 1)
	if info.TruncatedBefore > l.Version+1 {
		from = l.Version + 1
	}
	first := true
	for {
		rows, err := r.store.q.ReadStreamForward(ctx, db.ReadStreamForwardParams{StreamID: id, FromVersion: from, MaxCount: loadPage})
		if err != nil {
			return l, err
		}
		if len(rows) == 0 && l.Replayed == 0 && from <= info.Version {
			if err := r.store.archived(ctx, id); err != nil {
				return l, err
			}
		}
		if first && from < info.TruncatedBefore && (len(rows) == 0 || rows[0].Version != from) {
			return l, fmt.Errorf("%w: stream %s is truncated before version %d, its events from version %d are gone and no usable snapshot covers them",
				ErrTruncated, id, info.TruncatedBefore, from)
		}
		first = false
		for i := range rows {
			e := &rows[i]
			v, err := r.decode(ctx, e.StreamID, e.Version, e.EventType, e.SchemaFingerprint, e.Payload)
			if err != nil {
				return l, err
			}
			if l.State, err = r.cfg.Apply(l.State, v); err != nil {
				return l, fmt.Errorf("apply %s@%d: %w", e.EventType, e.Version, err)
			}
			l.Version = e.Version
			l.Replayed++
		}
		if len(rows) < loadPage {
			return l, nil
		}
		from = l.Version + 1
	}
}

// snapshot returns the stored snapshot if it has the codec's shape, is not
// ahead of the stream and decodes; otherwise ok is false and the caller
// replays. A failed read is an error: a database fault must not turn into a
// silent full replay.
func (r *Repository[S]) snapshot(ctx context.Context, id string, streamVersion int64) (state S, version int64, ok bool, err error) {
	row, err := r.store.q.GetSnapshot(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return state, 0, false, nil
	}
	if err != nil {
		return state, 0, false, fmt.Errorf("read snapshot: %w", err)
	}
	if row.StateVersion != r.cfg.Snapshots.Version || row.Version > streamVersion || row.StreamType != r.cfg.StreamType {
		return state, 0, false, nil
	}
	st, err := r.cfg.Snapshots.Decode(row.State)
	if err != nil {
		return state, 0, false, nil
	}
	return st, row.Version, true, nil
}

func (r *Repository[S]) decode(ctx context.Context, stream string, version int64, typ string, fp []byte, payload []byte) (any, error) {
	var f Fingerprint
	copy(f[:], fp)
	sc, err := r.store.Schema(ctx, f)
	if err != nil {
		return nil, &DecodeError{Stream: stream, Version: version, Type: typ, Err: err}
	}
	v, err := r.cfg.Decoder.Decode(typ, sc, payload)
	if err != nil {
		return nil, &DecodeError{Stream: stream, Version: version, Type: typ, Err: err}
	}
	return v, nil
}

// Command decides new events from the current state. It must not do I/O.
type Command[S any] func(state S) ([]any, error)

// ExecOption adjusts one Execute call.
type ExecOption func(*execOptions)

type execOptions struct {
	md      Metadata
	ids     func(i int) uuid.UUID
	retries int
}

// WithMetadata stamps every new event with md.
func WithMetadata(md Metadata) ExecOption { return func(o *execOptions) { o.md = md } }

// WithEventIDs names the i-th new event (e.g. derived from a command id), so
// a retried command re-appends the same ids and is a no-op.
func WithEventIDs(ids func(i int) uuid.UUID) ExecOption {
	return func(o *execOptions) { o.ids = ids }
}

// WithConflictRetries reloads and re-runs the command up to n more times on a
// version conflict.
func WithConflictRetries(n int) ExecOption { return func(o *execOptions) { o.retries = n } }

// Executed is the outcome of Execute.
type Executed[S any] struct {
	Loaded[S]              // state and version after the new events
	Append    AppendResult // zero when the command decided no events
	// SnapshotErr is set when saving a due snapshot failed; the append stood.
	SnapshotErr error
}

// Execute loads the aggregate, runs cmd, and appends the events it decides
// with the loaded version as the expected version. A concurrent change makes
// it fail with a *VersionConflictError (or retry, WithConflictRetries). When
// the new version crosses a multiple of SnapshotEvery a snapshot is saved.
func (r *Repository[S]) Execute(ctx context.Context, id string, cmd Command[S], opts ...ExecOption) (Executed[S], error) {
	var o execOptions
	for _, opt := range opts {
		opt(&o)
	}
	for attempt := 0; ; attempt++ {
		ex, err := r.execute(ctx, id, cmd, &o)
		if err != nil && errors.Is(err, ErrVersionConflict) && attempt < o.retries && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return ex, fmt.Errorf("execute on %s %s: %w", r.cfg.StreamType, id, err)
		}
		return ex, nil
	}
}

func (r *Repository[S]) execute(ctx context.Context, id string, cmd Command[S], o *execOptions) (Executed[S], error) {
	l, err := r.load(ctx, id, r.cfg.Snapshots != nil)
	if err != nil {
		return Executed[S]{Loaded: l}, err
	}
	decided, err := cmd(l.State)
	if err != nil || len(decided) == 0 {
		return Executed[S]{Loaded: l}, err
	}
	events := make([]EventData, len(decided))
	for i, v := range decided {
		sc, payload, err := r.cfg.Encoder.Encode(v)
		if err != nil {
			return Executed[S]{Loaded: l}, fmt.Errorf("encode event %d (%T): %w", i, v, err)
		}
		var eid uuid.UUID
		if o.ids != nil {
			eid = o.ids(i)
		} else if eid, err = r.cfg.NewEventID(); err != nil {
			return Executed[S]{Loaded: l}, fmt.Errorf("event id: %w", err)
		}
		events[i] = EventData{ID: eid, Type: sc.Name, Schema: sc, Payload: payload, Metadata: o.md}
	}
	expected := Exact(l.Version)
	res, err := r.store.Append(ctx, id, r.cfg.StreamType, expected, events...)
	if err != nil {
		return Executed[S]{Loaded: l}, err
	}
	if res.Replayed {
		// A retry of an append that already happened: report the stored
		// outcome with the state as it is now.
		if l, err = r.load(ctx, id, r.cfg.Snapshots != nil); err != nil {
			return Executed[S]{Loaded: l, Append: res}, err
		}
		return Executed[S]{Loaded: l, Append: res}, nil
	}
	oldVersion := l.Version
	for _, v := range decided {
		if l.State, err = r.cfg.Apply(l.State, v); err != nil {
			return Executed[S]{Loaded: l, Append: res}, fmt.Errorf("apply new %T: %w", v, err)
		}
	}
	l.Version = res.LastVersion()
	ex := Executed[S]{Loaded: l, Append: res}
	if r.cfg.Snapshots != nil && l.Version/r.cfg.SnapshotEvery > oldVersion/r.cfg.SnapshotEvery {
		ex.SnapshotErr = r.SaveSnapshot(ctx, id, l.State, l.Version)
	}
	return ex, nil
}

// SaveSnapshot stores state as the snapshot of aggregate id at version. An
// older snapshot never replaces a newer one of the same shape.
func (r *Repository[S]) SaveSnapshot(ctx context.Context, id string, state S, version int64) error {
	if r.cfg.Snapshots == nil {
		return fmt.Errorf("save snapshot %s: %w: no snapshot codec", id, ErrInvalidArgument)
	}
	b, err := r.cfg.Snapshots.Encode(state)
	if err != nil {
		return fmt.Errorf("save snapshot %s@%d: encode: %w", id, version, err)
	}
	err = r.store.q.SaveSnapshot(ctx, db.SaveSnapshotParams{
		StreamID: id, StreamType: r.cfg.StreamType, Version: version,
		StateVersion: r.cfg.Snapshots.Version, State: b, CreatedAt: r.store.cfg.Clock(),
	})
	if err != nil {
		return fmt.Errorf("save snapshot %s@%d: %w", id, version, err)
	}
	return nil
}

// DeleteSnapshot removes the stored snapshot of aggregate id, if any.
func (r *Repository[S]) DeleteSnapshot(ctx context.Context, id string) error {
	if err := r.store.q.DeleteSnapshot(ctx, id); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return nil
}
