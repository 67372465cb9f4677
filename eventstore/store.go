package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore/internal/db"
)

// notifySQL announces new events: one simple-protocol round trip whose
// commit does not wait for the WAL flush.
const notifySQL = "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('" + NotifyChannel + "', ''); COMMIT"

// NotifyChannel is the PostgreSQL channel Append notifies (empty payload) when
// Config.Notify is on; subscriptions LISTEN on it as a wake-up.
const NotifyChannel = "strata_events"

// Config configures a Store. The zero value is usable after defaults.
type Config struct {
	// Clock stamps recorded_at and bookkeeping rows; default time.Now.
	Clock func() time.Time
	// NoNotify turns off the NOTIFY sent after appends. Subscriptions in other
	// processes then wake on their poll interval only.
	NoNotify bool
	// NotifyInterval is the least time between two NOTIFYs from this Store:
	// appends during the pause share the next one. It bounds the extra delay
	// of subscribers in other processes under load. Default 10ms.
	NotifyInterval time.Duration
	// PollInterval bounds a subscription's latency when no wake-up arrives
	// (e.g. it was held back by a transaction that is not an append). Default 250ms.
	PollInterval time.Duration
	// BatchSize is how many events a subscription reads per query. Default 500.
	BatchSize int
	// MaxEventBytes refuses, at append, an event larger than this as Kafka
	// counts it (payload plus wire header, key and headers): set it to the
	// brokers' message.max.bytes (and the topics' max.message.bytes) minus
	// the record batch overhead. Default DefaultMaxEventBytes; -1: no limit.
	MaxEventBytes int
	// OnAppend, when set, is told about every Append (latency, batch size,
	// outcome); observe.NewStoreMetrics provides one.
	OnAppend AppendObserver
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: PollInterval %v < 0", ErrInvalidArgument, c.PollInterval))
	}
	if c.NotifyInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: NotifyInterval %v < 0", ErrInvalidArgument, c.NotifyInterval))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("%w: BatchSize %d < 0", ErrInvalidArgument, c.BatchSize))
	}
	if c.MaxEventBytes < -1 {
		errs = append(errs, fmt.Errorf("%w: MaxEventBytes %d < -1", ErrInvalidArgument, c.MaxEventBytes))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.NotifyInterval == 0 {
		c.NotifyInterval = 10 * time.Millisecond
	}
	return c
}

// Store is the PostgreSQL event store. It is safe for concurrent use.
// Run Migrate once before use (services do it at start-up).
type Store struct {
	pool *pgxpool.Pool
	q    *db.Queries
	cfg  Config

	schemaMu sync.RWMutex
	schemas  map[Fingerprint]Schema // stored writer schemas seen by this process

	wakeMu sync.Mutex
	wake   chan struct{} // closed (and replaced) after every local append

	notifying atomic.Bool // a notifier goroutine is running
	pending   atomic.Bool // an append committed since the notifier's last NOTIFY
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: nil pool", ErrInvalidArgument)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{
		pool:    pool,
		q:       db.New(pool),
		cfg:     cfg.withDefaults(),
		schemas: make(map[Fingerprint]Schema),
		wake:    make(chan struct{}),
	}, nil
}

// Pool returns the pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Append appends events to stream (of type streamType) if its version matches
// expected, in one transaction and one round trip. Re-appending the same event
// ids to the same stream returns the original result with Replayed set.
// A conflict returns a *VersionConflictError (errors.Is ErrVersionConflict).
func (s *Store) Append(ctx context.Context, stream, streamType string, expected Expected, events ...EventData) (AppendResult, error) {
	start := time.Now()
	res, err := s.append(ctx, stream, streamType, expected, events)
	if s.cfg.OnAppend != nil {
		s.cfg.OnAppend(AppendObservation{StreamType: streamType, Events: len(events), Duration: time.Since(start), Replayed: res.Replayed, Err: err})
	}
	if err != nil {
		return AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	return res, nil
}

func (s *Store) append(ctx context.Context, stream, streamType string, expected Expected, events []EventData) (AppendResult, error) {
	if err := checkAppend(stream, streamType, expected, events); err != nil {
		return AppendResult{}, err
	}
	if err := s.checkSizes(stream, streamType, events); err != nil {
		return AppendResult{}, err
	}
	if err := s.ensureSchemas(ctx, events); err != nil {
		return AppendResult{}, err
	}
	n := len(events)
	p := db.AppendEventsParams{
		StreamID:       stream,
		StreamType:     streamType,
		Expected:       int64(expected),
		EventIds:       make([]uuid.UUID, n),
		EventTypes:     make([]string, n),
		Fingerprints:   make([][]byte, n),
		Payloads:       make([][]byte, n),
		CorrelationIds: make([]string, n),
		CausationIds:   make([]string, n),
		UserIds:        make([]string, n),
		Traceparents:   make([]string, n),
		RecordedAt:     s.cfg.Clock(),
	}
	for i := range events {
		e := &events[i]
		p.EventIds[i] = e.ID
		p.EventTypes[i] = e.Type
		p.Fingerprints[i] = e.Schema.Fingerprint[:]
		p.Payloads[i] = e.Payload
		p.CorrelationIds[i] = e.CorrelationID
		p.CausationIds[i] = e.CausationID
		p.UserIds[i] = e.UserID
		p.Traceparents[i] = e.TraceParent
	}
	// A refused append is looked at once more: it may be a retry of a stored
	// append, or a stream created concurrently (then the statement is run again).
	for attempt := 1; ; attempt++ {
		rows, err := s.q.AppendEvents(ctx, p)
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id_key" {
				if res, ok, lerr := s.replayed(ctx, stream, p.EventIds); lerr != nil || ok {
					return res, lerr
				}
				return AppendResult{}, fmt.Errorf("%w: %s", ErrDuplicateEvent, pgErr.Detail)
			}
			if isArchivedRefusal(err) {
				if aerr := s.archived(ctx, stream); aerr != nil {
					return AppendResult{}, aerr
				}
			}
			return AppendResult{}, err
		}
		if len(rows) == n {
			res := AppendResult{StreamID: stream, TxID: rows[0].TxID, Events: make([]Appended, n)}
			for i, r := range rows {
				res.Events[i] = Appended{Position: r.Position, Version: r.Version}
			}
			sortAppended(res.Events) // RETURNING follows the insert's ORDER BY; keep it explicit
			s.signal()
			return res, nil
		}
		if len(rows) != 0 {
			return AppendResult{}, fmt.Errorf("append returned %d rows for %d events", len(rows), n)
		}
		res, retry, err := s.refused(ctx, stream, streamType, expected, p.EventIds)
		if !retry || attempt == 3 {
			if retry {
				err = fmt.Errorf("append refused %d times although the stream now accepts it: %w", attempt, ErrVersionConflict)
			}
			return res, err
		}
	}
}

// replayed reports whether ids are exactly the events of an append already
// stored in stream, and if so returns that append's result.
func (s *Store) replayed(ctx context.Context, stream string, ids []uuid.UUID) (AppendResult, bool, error) {
	rows, err := s.q.EventsByID(ctx, ids)
	if err != nil {
		return AppendResult{}, false, err
	}
	if len(rows) == 0 {
		return AppendResult{}, false, nil
	}
	for _, r := range rows {
		if r.StreamID != stream {
			return AppendResult{}, false, fmt.Errorf("%w: event %d of the batch is stored in stream %s", ErrDuplicateEvent, r.Position, r.StreamID)
		}
	}
	if len(rows) != len(ids) {
		return AppendResult{}, false, fmt.Errorf("%w: %d of the %d event ids are stored already", ErrDuplicateEvent, len(rows), len(ids))
	}
	res := AppendResult{StreamID: stream, TxID: rows[0].TxID, Events: make([]Appended, len(rows)), Replayed: true}
	for i, r := range rows {
		res.Events[i] = Appended{Position: r.Position, Version: r.Version}
	}
	return res, true, nil
}

// refused explains an append the statement refused: a retry of a stored
// append (its result), a tombstone, a stream type mismatch or a version
// conflict (errors), or a refusal that no longer holds (retry).
func (s *Store) refused(ctx context.Context, stream, streamType string, expected Expected, ids []uuid.UUID) (AppendResult, bool, error) {
	if res, ok, err := s.replayed(ctx, stream, ids); err != nil || ok {
		return res, false, err
	}
	row, err := s.q.GetStream(ctx, stream)
	if errors.Is(err, pgx.ErrNoRows) {
		if expected == Any || expected == NoStream || expected == 0 {
			return AppendResult{}, true, nil
		}
		return AppendResult{}, false, &VersionConflictError{Stream: stream, Expected: expected, Actual: 0}
	}
	if err != nil {
		return AppendResult{}, false, err
	}
	switch {
	case row.Tombstoned:
		return AppendResult{}, false, &StreamDeletedError{Stream: stream}
	case row.StreamType != streamType:
		return AppendResult{}, false, fmt.Errorf("%w: stream %s is of type %s, not %s", ErrStreamTypeMismatch, stream, row.StreamType, streamType)
	case !expected.allows(row.Version):
		return AppendResult{}, false, &VersionConflictError{Stream: stream, Expected: expected, Actual: row.Version}
	}
	return AppendResult{}, true, nil
}

// recordOverhead is what Kafka adds to an event's payload and metadata in a
// relayed record: the wire-format header, the fixed headers (names, event id,
// schema version, stream version, position, recorded at) and the record and
// batch framing.
const recordOverhead = 512

// EventSize is an event's size as the relay's Kafka record counts it
// (approximately, from above): payload, key, headers and framing.
func EventSize(stream, streamType string, e *EventData) int {
	return len(e.Payload) + len(stream) + len(streamType) + len(e.Type) + len(e.CorrelationID) +
		len(e.CausationID) + len(e.UserID) + len(e.TraceParent) + recordOverhead
}

// checkSizes refuses events larger than Config.MaxEventBytes.
func (s *Store) checkSizes(stream, streamType string, events []EventData) error {
	limit := s.cfg.MaxEventBytes
	if limit < 0 {
		return nil
	}
	for i := range events {
		if n := EventSize(stream, streamType, &events[i]); n > limit {
			return &EventTooLargeError{Stream: stream, Index: i, Type: events[i].Type, Size: n, Max: limit}
		}
	}
	return nil
}

func sortAppended(a []Appended) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Version < a[j-1].Version; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func checkAppend(stream, streamType string, expected Expected, events []EventData) error {
	var errs []error
	if stream == "" {
		errs = append(errs, errors.New("empty stream id"))
	}
	if streamType == "" {
		errs = append(errs, errors.New("empty stream type"))
	}
	if !expected.valid() {
		errs = append(errs, fmt.Errorf("expected version %d", int64(expected)))
	}
	if len(events) == 0 {
		errs = append(errs, errors.New("no events"))
	}
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i := range events {
		e := &events[i]
		if e.ID == uuid.Nil {
			errs = append(errs, fmt.Errorf("event %d: nil id", i))
		}
		if _, dup := seen[e.ID]; dup {
			errs = append(errs, fmt.Errorf("event %d: id %s repeated in the batch", i, e.ID))
		}
		seen[e.ID] = struct{}{}
		if e.Type == "" {
			errs = append(errs, fmt.Errorf("event %d: empty type", i))
		}
		if e.Schema.Fingerprint == (Fingerprint{}) {
			errs = append(errs, fmt.Errorf("event %d: zero schema fingerprint", i))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, errors.Join(errs...))
	}
	return nil
}

// signal wakes this process's subscriptions after a committed append, and
// other processes' through NOTIFY.
func (s *Store) signal() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
	if !s.cfg.NoNotify {
		s.notifyAfterCommit()
	}
}

// notifyAfterCommit sends NOTIFY on NotifyChannel outside the appending
// transaction, coalescing bursts: at most one notifier goroutine runs; after
// each NOTIFY it pauses NotifyInterval and sends one more if appends committed
// meanwhile. An isolated append is announced one round trip after its commit.
//
// Why not NOTIFY inside the append: PostgreSQL serialises the commits of all
// notifying transactions on one lock held through the commit's WAL flush, so
// concurrent appends lose group commit (measured: 16 writers of one event per
// call ran about 6x slower). A NOTIFY transaction is given a transaction id and
// writes a commit record; sent apart with synchronous_commit off it does not
// wait for a WAL flush (losing a notification in a crash is harmless: pollers
// catch up). It reaches listeners one round trip after the append's commit.
func (s *Store) notifyAfterCommit() {
	s.pending.Store(true)
	if !s.notifying.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			for s.pending.Swap(false) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				// A failure only delays remote subscribers to their poll interval.
				_, _ = s.pool.Exec(ctx, notifySQL)
				cancel()
				time.Sleep(s.cfg.NotifyInterval)
			}
			s.notifying.Store(false)
			// An append may have set pending after the last Swap but before
			// the Store above saw no notifier running: pick it up.
			if !s.pending.Load() || !s.notifying.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

func (s *Store) wakeChan() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// RegisterSchema stores a writer schema (idempotent) and caches it, so events
// written with it can be decoded without the registry.
func (s *Store) RegisterSchema(ctx context.Context, sc Schema) error {
	if sc.Fingerprint == (Fingerprint{}) || sc.Name == "" || sc.JSON == "" {
		return fmt.Errorf("register schema %s: %w: fingerprint, name and JSON are required", sc.Name, ErrInvalidArgument)
	}
	if s.cachedSchema(sc.Fingerprint) {
		return nil
	}
	err := s.q.InsertSchema(ctx, db.InsertSchemaParams{
		Fingerprint: sc.Fingerprint[:], FullName: sc.Name, SchemaJson: sc.JSON, CreatedAt: s.cfg.Clock(),
	})
	if err != nil {
		return fmt.Errorf("register schema %s: %w", sc.Name, err)
	}
	s.cacheSchema(sc)
	return nil
}

// Schema returns the stored writer schema with fingerprint f (cached).
func (s *Store) Schema(ctx context.Context, f Fingerprint) (Schema, error) {
	s.schemaMu.RLock()
	sc, ok := s.schemas[f]
	s.schemaMu.RUnlock()
	if ok && sc.JSON != "" {
		return sc, nil
	}
	row, err := s.q.GetSchema(ctx, f[:])
	if errors.Is(err, pgx.ErrNoRows) {
		return Schema{}, fmt.Errorf("schema %s: %w", f, ErrUnknownSchema)
	}
	if err != nil {
		return Schema{}, fmt.Errorf("schema %s: %w", f, err)
	}
	sc = Schema{Fingerprint: f, Name: row.FullName, JSON: row.SchemaJson}
	s.cacheSchema(sc)
	return sc, nil
}

func (s *Store) cachedSchema(f Fingerprint) bool {
	s.schemaMu.RLock()
	_, ok := s.schemas[f]
	s.schemaMu.RUnlock()
	return ok
}

func (s *Store) cacheSchema(sc Schema) {
	s.schemaMu.Lock()
	s.schemas[sc.Fingerprint] = sc
	s.schemaMu.Unlock()
}

// ensureSchemas makes sure every writer schema of events is stored. The hot
// path is a map lookup; a fingerprint this process has not seen costs one
// query (and an insert when the event carries the schema text).
func (s *Store) ensureSchemas(ctx context.Context, events []EventData) error {
	var unknown []Fingerprint
	s.schemaMu.RLock()
	for i := range events {
		f := events[i].Schema.Fingerprint
		if _, ok := s.schemas[f]; !ok && !containsFP(unknown, f) {
			unknown = append(unknown, f)
		}
	}
	s.schemaMu.RUnlock()
	for _, f := range unknown {
		var withText *Schema
		for i := range events {
			if events[i].Schema.Fingerprint == f && events[i].Schema.JSON != "" {
				withText = &events[i].Schema
				break
			}
		}
		if withText != nil {
			if withText.Name == "" {
				return fmt.Errorf("%w: schema %s has no name", ErrInvalidArgument, f)
			}
			if err := s.RegisterSchema(ctx, *withText); err != nil {
				return err
			}
			continue
		}
		if _, err := s.Schema(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func containsFP(fs []Fingerprint, f Fingerprint) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// Stream returns a stream's bookkeeping row; ErrStreamNotFound when it has none.
func (s *Store) Stream(ctx context.Context, stream string) (StreamInfo, error) {
	row, err := s.q.GetStream(ctx, stream)
	if errors.Is(err, pgx.ErrNoRows) {
		return StreamInfo{}, fmt.Errorf("stream %s: %w", stream, ErrStreamNotFound)
	}
	if err != nil {
		return StreamInfo{}, fmt.Errorf("stream %s: %w", stream, err)
	}
	return StreamInfo{
		ID: row.StreamID, Type: row.StreamType, Version: row.Version, Tombstoned: row.Tombstoned,
		TruncatedBefore: row.TruncatedBefore, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}, nil
}

// ReadStream reads up to limit events of stream with version >= from, in
// version order, skipping truncated versions. A tombstoned stream returns a
// *StreamDeletedError, a stream without events ErrStreamNotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]RecordedEvent, error) {
	info, err := s.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("read %w", err)
	}
	if info.Tombstoned {
		return nil, fmt.Errorf("read stream: %w", &StreamDeletedError{Stream: stream})
	}
	first := max(from, info.TruncatedBefore, 1)
	rows, err := s.q.ReadStreamForward(ctx, db.ReadStreamForwardParams{
		StreamID: stream, FromVersion: first, MaxCount: clampLimit(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if len(rows) == 0 && first <= info.Version {
		if err := s.archived(ctx, stream); err != nil {
			return nil, fmt.Errorf("read stream: %w", err)
		}
	}
	return recorded(rows), nil
}

// ReadStreamBackward reads up to limit events of stream with version <= from
// (from < 0: from the end), newest first, stopping at the truncation point.
func (s *Store) ReadStreamBackward(ctx context.Context, stream string, from int64, limit int) ([]RecordedEvent, error) {
	info, err := s.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("read backward %w", err)
	}
	if info.Tombstoned {
		return nil, fmt.Errorf("read stream backward: %w", &StreamDeletedError{Stream: stream})
	}
	if from < 0 || from > info.Version {
		from = info.Version
	}
	rows, err := s.q.ReadStreamBackward(ctx, db.ReadStreamBackwardParams{
		StreamID: stream, FromVersion: from, MinVersion: max(info.TruncatedBefore, 1), MaxCount: clampLimit(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("read stream backward %s: %w", stream, err)
	}
	return recorded(rows), nil
}

// ReadAll reads up to limit events of the global log strictly after cursor, in
// commit-safe order: only events whose transactions are older than every
// in-flight transaction are returned, so a reader that continues from the last
// event's Cursor never skips an event that commits later. Tombstoned and
// truncated streams' events stay in the global log.
func (s *Store) ReadAll(ctx context.Context, after Cursor, limit int) ([]RecordedEvent, error) {
	rows, err := s.q.ReadAll(ctx, db.ReadAllParams{AfterTx: after.TxID, AfterPosition: after.Position, MaxCount: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("read all after %s: %w", after, err)
	}
	return recorded(rows), nil
}

// ReadByType is ReadAll restricted to the given event types, and to events
// recorded at or after since (zero: no time bound). Continue from the last
// event's Cursor with the same since.
func (s *Store) ReadByType(ctx context.Context, types []string, after Cursor, since time.Time, limit int) ([]RecordedEvent, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("read by type: %w: no event types", ErrInvalidArgument)
	}
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	rows, err := s.q.ReadByType(ctx, db.ReadByTypeParams{
		EventTypes: types, AfterTx: after.TxID, AfterPosition: after.Position, Since: since, MaxCount: clampLimit(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("read by type %v after %s: %w", types, after, err)
	}
	return recorded(rows), nil
}

// DeleteStream tombstones stream (soft delete) if its version matches
// expected: reads and appends then fail with ErrStreamDeleted. Its events stay
// in the global log.
func (s *Store) DeleteStream(ctx context.Context, stream string, expected Expected) error {
	err := s.underStreamLock(ctx, stream, expected, func(q *db.Queries) error {
		_, err := q.DeleteStream(ctx, db.DeleteStreamParams{Now: s.cfg.Clock(), StreamID: stream})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete stream %s: %w", stream, err)
	}
	return nil
}

// TruncateStream hides the versions of stream below before from stream reads
// (and from aggregate loads); the global log keeps them. Truncation only moves forward.
func (s *Store) TruncateStream(ctx context.Context, stream string, before int64) error {
	if before < 1 {
		return fmt.Errorf("truncate stream %s: %w: before %d < 1", stream, ErrInvalidArgument, before)
	}
	err := s.underStreamLock(ctx, stream, Any, func(q *db.Queries) error {
		_, err := q.TruncateStream(ctx, db.TruncateStreamParams{Before: before, Now: s.cfg.Clock(), StreamID: stream})
		return err
	})
	if err != nil {
		return fmt.Errorf("truncate stream %s: %w", stream, err)
	}
	return nil
}

// underStreamLock runs fn in a transaction holding the stream's append lock
// after checking that the stream exists, is live and matches expected.
func (s *Store) underStreamLock(ctx context.Context, stream string, expected Expected, fn func(q *db.Queries) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.LockStream(ctx, stream); err != nil {
			return err
		}
		row, err := q.GetStream(ctx, stream)
		if errors.Is(err, pgx.ErrNoRows) {
			if expected == Any || expected == StreamExists {
				return ErrStreamNotFound
			}
			return &VersionConflictError{Stream: stream, Expected: expected, Actual: 0}
		}
		if err != nil {
			return err
		}
		if row.Tombstoned {
			return &StreamDeletedError{Stream: stream}
		}
		if !expected.allows(row.Version) {
			return &VersionConflictError{Stream: stream, Expected: expected, Actual: row.Version}
		}
		return fn(q)
	})
}

func clampLimit(limit int) int32 {
	if limit <= 0 || limit > 1<<20 {
		return 1 << 20
	}
	return int32(limit)
}

func recorded(rows []db.Event) []RecordedEvent {
	out := make([]RecordedEvent, len(rows))
	for i := range rows {
		r := &rows[i]
		e := &out[i]
		e.Position, e.TxID, e.StreamID, e.StreamType = r.Position, r.TxID, r.StreamID, r.StreamType
		e.Version, e.ID, e.Type, e.Payload, e.RecordedAt = r.Version, r.EventID, r.EventType, r.Payload, r.RecordedAt
		copy(e.Fingerprint[:], r.SchemaFingerprint)
		e.CorrelationID, e.CausationID = deref(r.CorrelationID), deref(r.CausationID)
		e.UserID, e.TraceParent = deref(r.UserID), deref(r.Traceparent)
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
