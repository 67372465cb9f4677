package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/serde"
)

// RelayConfig configures a Relay. Log, DB, Registry and Kafka
// ("bootstrap.servers" at least) are required; the rest have defaults.
type RelayConfig struct {
	// Name identifies the relay's checkpoint and lease; instances with the
	// same name share one checkpoint and only one of them produces at a time.
	// Default "default".
	Name     string
	Log      Log
	DB       *pgxpool.Pool // checkpoints and the lease
	Registry Registry
	// RegisterSchemas lets the relay register a writer schema the registry
	// does not have (development: make run, tests). Off, the default,
	// schemas are registered at deploy (`strata schema register`) and an
	// event whose schema is not registered waits like a refused one.
	RegisterSchemas bool
	// SchemaRetry is how often the registry is asked again about a refused
	// writer schema while its events wait. Default 15s.
	SchemaRetry time.Duration
	// Kafka holds librdkafka properties passed through to the producer (TLS,
	// SASL, ...). The relay sets enable.idempotence=true and acks=all and
	// defaults message.timeout.ms to 0 (retry until delivered).
	Kafka KafkaConfig
	// Route chooses each event's topic. Default DefaultRoute.
	Route Route
	// Topics, when not zero, is used to create each topic the relay is about
	// to produce to for the first time (EnsureTopics: partitions, replication
	// factor, min.insync.replicas); zero leaves creation to the broker
	// (auto.create.topics.enable and its defaults).
	Topics TopicSettings
	// BatchSize is how many events one read of the log returns. Default 2000
	// (each read pays a fixed cost for the commit-order horizon).
	BatchSize int
	// MaxInFlight bounds produced-but-unacknowledged events (the memory the
	// relay uses while Kafka is slow or down, and the window of duplicates
	// after a crash). Default 50000.
	MaxInFlight int
	// IdleWait is the longest wait for new events when the log is drained.
	// Default 100ms.
	IdleWait time.Duration
	// LeaseRetry is how often a standby instance tries to take the lease.
	// Default 1s.
	LeaseRetry time.Duration
	// LeaseTimeout bounds how long a leader keeps producing without
	// confirming its lease (it confirms every LeaseTimeout/3, and every
	// checkpoint write confirms it too); a relay taking over from one that
	// did not let go cleanly waits this long before producing. Default 6s.
	LeaseTimeout time.Duration
	// DBTimeout bounds every other PostgreSQL call of the relay (log reads,
	// schema and quarantine look-ups, migration). Default 30s.
	DBTimeout time.Duration
	// CheckpointEvery bounds how often the checkpoint is written while
	// events flow. Default 50ms.
	CheckpointEvery time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure. Defaults
	// 200ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// ShutdownTimeout bounds the wait for in-flight deliveries on shutdown.
	// Default 10s.
	ShutdownTimeout time.Duration
	// Metrics may be nil.
	Metrics *Metrics
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Progress, when set, is called about every ProgressEvery (default 1s)
	// from the relay's goroutine with a snapshot of its state.
	Progress      func(RelayProgress)
	ProgressEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnDelivered, when set, is called from the relay's goroutine for every
	// event Kafka acknowledged (keep it fast): tracing, audits, benchmarks.
	OnDelivered func(Delivery)
}

// Delivery describes one acknowledged event.
type Delivery struct {
	Cursor     Cursor
	EventID    string
	Topic      string
	Partition  int32
	Offset     int64
	RecordedAt time.Time
	SentAt     time.Time
	AckedAt    time.Time
}

// RelayProgress is a snapshot of a running relay.
type RelayProgress struct {
	Leader     bool
	Acked      uint64 // events acknowledged since Run started
	InFlight   int
	Checkpoint Cursor
	LagEvents  int64   // events after the checkpoint (-1 when the log cannot tell)
	LagSeconds float64 // age of the oldest unacknowledged event
	Held       int     // events waiting behind a writer schema the registry refuses
}

// Validate reports every problem with the configuration at once.
func (c *RelayConfig) Validate() error {
	var errs []error
	if c.Log == nil {
		errs = append(errs, fmt.Errorf("relay: Log is required: %w", ErrConfig))
	}
	if c.DB == nil {
		errs = append(errs, fmt.Errorf("relay: DB is required: %w", ErrConfig))
	}
	if c.Registry == nil {
		errs = append(errs, fmt.Errorf("relay: Registry is required: %w", ErrConfig))
	}
	if c.Kafka["bootstrap.servers"] == "" {
		errs = append(errs, fmt.Errorf("relay: Kafka bootstrap.servers is required: %w", ErrConfig))
	}
	if c.BatchSize < 0 || c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("relay: BatchSize and MaxInFlight must not be negative: %w", ErrConfig))
	}
	if c.BatchSize > 0 && c.MaxInFlight > 0 && c.BatchSize > c.MaxInFlight {
		errs = append(errs, fmt.Errorf("relay: BatchSize %d > MaxInFlight %d: %w", c.BatchSize, c.MaxInFlight, ErrConfig))
	}
	if err := c.Topics.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("relay: %w", err))
	}
	if c.LeaseTimeout < 0 || c.DBTimeout < 0 || (c.LeaseTimeout > 0 && c.LeaseTimeout < 300*time.Millisecond) {
		errs = append(errs, fmt.Errorf("relay: LeaseTimeout %v (at least 300ms) and DBTimeout %v must not be negative: %w", c.LeaseTimeout, c.DBTimeout, ErrConfig))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 || (c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff) {
		errs = append(errs, fmt.Errorf("relay: backoff bounds %v..%v: %w", c.MinBackoff, c.MaxBackoff, ErrConfig))
	}
	for _, k := range []string{"enable.idempotence", "acks"} {
		if v, ok := c.Kafka[k]; ok && ((k == "acks" && v != "all" && v != "-1") || (k == "enable.idempotence" && v != "true")) {
			errs = append(errs, fmt.Errorf("relay: Kafka %s=%s would break delivery guarantees: %w", k, v, ErrConfig))
		}
	}
	return errors.Join(errs...)
}

func (c *RelayConfig) defaults() {
	if c.Name == "" {
		c.Name = "default"
	}
	if c.Route == nil {
		c.Route = DefaultRoute
	}
	if c.BatchSize == 0 {
		c.BatchSize = 2000
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 50000
	}
	if c.BatchSize > c.MaxInFlight {
		c.BatchSize = c.MaxInFlight
	}
	if c.IdleWait == 0 {
		c.IdleWait = 100 * time.Millisecond
	}
	if c.LeaseRetry == 0 {
		c.LeaseRetry = time.Second
	}
	if c.LeaseTimeout == 0 {
		c.LeaseTimeout = 6 * time.Second
	}
	if c.DBTimeout == 0 {
		c.DBTimeout = 30 * time.Second
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 50 * time.Millisecond
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 200 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.SchemaRetry == 0 {
		c.SchemaRetry = 15 * time.Second
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Relay copies the event store's global log to Kafka in commit order,
// at least once, keyed by stream id, in the Confluent wire format.
type Relay struct {
	cfg     RelayConfig
	schemas *schemaIDs
	acked   uint64
}

// NewRelay checks cfg and returns a relay; Run starts it.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Relay{cfg: cfg, schemas: newSchemaIDs(cfg.Registry)}, nil
}

// Run relays until ctx is done, then waits (at most ShutdownTimeout) for
// in-flight deliveries, stores the checkpoint and returns nil. It first waits
// for the lease; after a failure (Kafka delivery, PostgreSQL, registry) it
// backs off and starts again from the checkpoint. It returns an error only
// for a configuration Kafka rejects.
func (r *Relay) Run(ctx context.Context) error {
	if err := r.retry(ctx, func() error {
		mctx, cancel := context.WithTimeout(ctx, r.cfg.DBTimeout)
		defer cancel()
		return Migrate(mctx, r.cfg.DB)
	}); err != nil {
		return err
	}
	backoff := r.cfg.MinBackoff
	for {
		l, err := tryLease(ctx, r.cfg.DB, r.cfg.Name, r.cfg.LeaseTimeout, r.cfg.DBTimeout)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.cfg.Logger.Warn("relay lease", "relay", r.cfg.Name, "err", err)
		}
		if l == nil {
			r.progress(RelayProgress{LagEvents: -1})
			if !sleep(ctx, r.cfg.LeaseRetry) {
				return nil
			}
			continue
		}
		r.cfg.Logger.Info("relay lease taken", "relay", r.cfg.Name, "epoch", l.epoch)
		started := r.cfg.Now()
		err = r.takeOver(ctx, l)
		if err == nil {
			err = r.lead(ctx, l)
		}
		l.close(ctx.Err() != nil && (err == nil || !errors.Is(err, ErrLeaseLost)))
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrConfig) {
			return err
		}
		if r.cfg.Now().Sub(started) > 10*r.cfg.MaxBackoff {
			backoff = r.cfg.MinBackoff
		}
		r.cfg.Logger.Warn("relay stopped; restarting from the checkpoint", "relay", r.cfg.Name, "err", err, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// takeOver waits out the previous leader's lease when it did not let go
// cleanly: it may be cut off from PostgreSQL (a half-open connection) and
// still producing until its LeaseTimeout passes without a confirmation.
func (r *Relay) takeOver(ctx context.Context, l *lease) error {
	if l.prevReleased {
		return nil
	}
	r.cfg.Logger.Warn("relay: the previous leader did not release the lease; waiting out its lease timeout before producing",
		"relay", r.cfg.Name, "epoch", l.epoch, "wait", r.cfg.LeaseTimeout)
	if !sleep(ctx, r.cfg.LeaseTimeout) {
		return nil
	}
	return l.confirm(ctx)
}

// dbctx bounds one PostgreSQL call.
func (r *Relay) dbctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.DBTimeout)
}

func (r *Relay) retry(ctx context.Context, f func() error) error {
	backoff := r.cfg.MinBackoff
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		r.cfg.Logger.Warn("relay", "relay", r.cfg.Name, "err", err)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// slot is one produced event waiting for its delivery report.
type slot struct {
	cursor     Cursor
	recordedAt time.Time
	sentAt     time.Time
	topic      string
	key        string
	eventID    string
	eventType  string
	size       int
	done       bool
	skipped    bool // quarantined and skipped by an operator: not produced
	err        error
}

func (r *Relay) producerConfig() kafka.ConfigMap {
	over := map[string]kafka.ConfigValue{
		"enable.idempotence":           true,
		"acks":                         "all",
		"go.delivery.reports":          true,
		"queue.buffering.max.messages": max(100000, 2*r.cfg.MaxInFlight),
	}
	m := r.cfg.Kafka.configMap(over)
	if _, ok := r.cfg.Kafka["message.timeout.ms"]; !ok {
		m["message.timeout.ms"] = 0 // infinite: retry until Kafka is back
	}
	if _, ok := r.cfg.Kafka["linger.ms"]; !ok {
		m["linger.ms"] = 5
	}
	return m
}

// lead runs the relay while it holds the lease.
func (r *Relay) lead(ctx context.Context, l *lease) error {
	cm := r.producerConfig()
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return fmt.Errorf("relay producer: %w: %w", ErrConfig, err)
	}
	evDone := make(chan struct{})
	go func() { // errors and logs that are not delivery reports
		defer close(evDone)
		for ev := range p.Events() {
			if e, ok := ev.(kafka.Error); ok {
				r.cfg.Logger.Debug("relay kafka", "relay", r.cfg.Name, "err", e)
			}
		}
	}()
	defer func() {
		p.Close()
		<-evDone
	}()

	if c, ok := r.cfg.Log.(LogChecker); ok {
		cctx, cancel := r.dbctx(ctx)
		err := c.CheckLog(cctx)
		cancel()
		if err != nil {
			r.cfg.Logger.Error("relay: the log cannot be relayed", "relay", r.cfg.Name, "err", err)
			return fmt.Errorf("relay check log: %w", err)
		}
	}
	cp, err := l.load(ctx)
	if err != nil {
		return err
	}
	qctx, cancel := r.dbctx(ctx)
	q, err := loadQuarantine(qctx, r.cfg.DB, r.cfg.Name)
	cancel()
	if err != nil {
		return err
	}
	r.quarantineGauge(len(q.held))
	st := &leadState{
		r: r, l: l, p: p, cp: cp, saved: cp, read: cp, q: q,
		deliveries: make(chan kafka.Event, r.cfg.MaxInFlight+1),
		topics:     map[string]*string{},
	}
	return st.loop(ctx)
}

type leadState struct {
	r          *Relay
	l          *lease
	p          *kafka.Producer
	cp, saved  Cursor        // acknowledged prefix; last checkpoint handed to the writer
	ckpt       chan Cursor   // to the checkpoint writer: latest value wins
	ckptErr    chan error    // from the checkpoint writer
	ckptDone   chan struct{} // closed when the writer has stopped
	read       Cursor        // last event handed to the producer
	pending    []*slot
	inflight   int
	failed     error
	deliveries chan kafka.Event
	topics     map[string]*string
	lastSave   time.Time
	lastProg   time.Time
	lagEvents  int64
	q          quarantine
	// events waiting behind refused writer schemas (relay_schemas.go)
	held        []heldEvent
	heldStreams map[string]bool
	refused     map[string]*SchemaRefusedError // by fingerprint, until the next retry
	nextRetry   time.Time
}

// batch is one read of the log, or the error that ended reading.
type batch struct {
	events []LogEvent
	err    error
}

// loop produces what the reader goroutine reads, collects delivery reports
// and moves the checkpoint. Reading the next batch overlaps producing and
// acknowledging the previous ones; in flight stays below MaxInFlight plus
// one batch, plus the two batches the reader may hold.
func (s *leadState) loop(ctx context.Context) error {
	cfg := &s.r.cfg
	s.lagEvents = -1
	s.ckpt, s.ckptErr, s.ckptDone = make(chan Cursor, 1), make(chan error, 1), make(chan struct{})
	go s.checkpointWriter(ctx, s.ckpt, s.ckptErr, s.ckptDone)
	defer s.stopWriter()
	rctx, cancel := context.WithCancel(ctx)
	batches := make(chan batch, 2)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readLoop(rctx, s.read, batches)
	}()
	defer func() {
		cancel()
		<-readerDone
	}()
	tick := time.NewTicker(min(cfg.CheckpointEvery, cfg.ProgressEvery, cfg.IdleWait))
	defer tick.Stop()
	for {
		var in <-chan batch
		if s.failed == nil && s.inflight+len(s.held) < cfg.MaxInFlight {
			in = batches
		}
		select {
		case <-ctx.Done():
			return s.shutdown()
		case b := <-in:
			if b.err != nil {
				s.failed = b.err
				break
			}
			if !s.l.valid(time.Now()) {
				// Fencing: a leader that could not confirm its lease for
				// LeaseTimeout may have been replaced; it must not produce.
				s.failed = fmt.Errorf("relay %s: lease not confirmed for %v: %w", cfg.Name, cfg.LeaseTimeout, ErrLeaseLost)
				s.fence()
				break
			}
			for i := range b.events {
				if err := s.produce(ctx, &b.events[i]); err != nil {
					s.failed = err
					break
				}
				s.read = b.events[i].Cursor
			}
		case ev := <-s.deliveries:
			s.delivered(ev)
		case err := <-s.ckptErr:
			s.failed = err
			if errors.Is(err, ErrLeaseLost) {
				s.fence()
			}
			return s.shutdown()
		case <-tick.C:
		}
		if s.failed == nil {
			if err := s.retryHeld(ctx); err != nil {
				s.failed = err
			}
		}
		s.collect()
		if s.failed != nil && s.inflight == 0 {
			if err := s.checkpoint(ctx, true); err != nil {
				return errors.Join(s.failed, err)
			}
			return s.failed
		}
		if err := s.checkpoint(ctx, false); err != nil {
			s.failed = err
			return s.shutdown()
		}
		s.report(ctx)
	}
}

// readLoop reads the log after cursor and hands batches to out until ctx
// is done or a read fails; when the log is drained it waits for an append.
func (s *leadState) readLoop(ctx context.Context, cursor Cursor, out chan<- batch) {
	cfg := &s.r.cfg
	for ctx.Err() == nil {
		rctx, cancel := s.r.dbctx(ctx)
		events, err := cfg.Log.ReadLog(rctx, cursor, cfg.BatchSize)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				select {
				case out <- batch{err: fmt.Errorf("relay read log: %w", err)}:
				case <-ctx.Done():
				}
			}
			return
		}
		if len(events) == 0 {
			s.idle(ctx)
			continue
		}
		select {
		case out <- batch{events: events}:
			cursor = events[len(events)-1].Cursor
		case <-ctx.Done():
			return
		}
	}
}

// produce sends e, or holds it when the registry refuses its writer schema
// or an earlier event of its stream is held (relay_schemas.go).
func (s *leadState) produce(ctx context.Context, e *LogEvent) error {
	cfg := &s.r.cfg
	if s.q.skipped[e.EventID] {
		s.pending = append(s.pending, &slot{cursor: e.Cursor, eventID: e.EventID, done: true, skipped: true})
		cfg.Logger.Warn("relay: skipped a quarantined event (an operator skipped it; it is not in Kafka)",
			"relay", cfg.Name, "event_id", e.EventID, "stream", e.StreamID, "type", e.EventType)
		return nil
	}
	name := cfg.Route(e)
	if s.streamHeld(name, e) {
		s.hold(e, name)
		return nil
	}
	reg, err := s.schemaID(ctx, e)
	if errors.Is(err, ErrSchemaRefused) {
		s.hold(e, name)
		return nil
	}
	if err != nil {
		return err
	}
	return s.send(ctx, e, name, reg, nil)
}

// send produces e to topic name; sl is its slot when it was held (already in
// pending), nil otherwise.
func (s *leadState) send(ctx context.Context, e *LogEvent, name string, reg registered, sl *slot) error {
	cfg := &s.r.cfg
	topic, ok := s.topics[name]
	if !ok {
		if !cfg.Topics.IsZero() {
			if err := EnsureTopics(ctx, cfg.Kafka, cfg.Topics, name); err != nil {
				return fmt.Errorf("relay: %w", err)
			}
		}
		topic = &name
		s.topics[name] = topic
	}
	queued := sl != nil
	if !queued {
		sl = &slot{cursor: e.Cursor, recordedAt: e.RecordedAt, topic: name, key: e.StreamID, eventID: e.EventID}
	}
	sl.eventType, sl.size = e.EventType, serde.WireHeaderLen+len(e.Payload)
	sl.sentAt = cfg.Now()
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: topic, Partition: kafka.PartitionAny},
		Key:            []byte(e.StreamID),
		Value:          serde.AppendWire(make([]byte, 0, serde.WireHeaderLen+len(e.Payload)), int(reg.id), e.Payload),
		Timestamp:      e.RecordedAt,
		Headers:        relayHeaders(e, reg.version),
		Opaque:         sl,
	}
	for {
		err := s.p.Produce(msg, s.deliveries)
		if err == nil {
			break
		}
		var ke kafka.Error
		if errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull {
			s.await(ctx, 10*time.Millisecond)
			s.collect()
			continue
		}
		if refusedForGood(err) {
			return s.quarantine(ctx, sl, err)
		}
		return fmt.Errorf("relay produce %s: %w", e.EventID, err)
	}
	if !queued {
		s.pending = append(s.pending, sl)
	}
	s.inflight++
	return nil
}

func relayHeaders(e *LogEvent, schemaVersion int) []kafka.Header {
	hs := make([]kafka.Header, 0, 12)
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	add(HeaderEventType, e.EventType)
	add(HeaderEventID, e.EventID)
	add(HeaderCorrelationID, e.CorrelationID)
	add(HeaderCausationID, e.CausationID)
	add(HeaderTraceParent, e.TraceParent)
	add(HeaderUserID, e.UserID)
	add(HeaderContentType, ContentTypeAvro)
	add(HeaderSchemaVersion, strconv.Itoa(schemaVersion))
	add(HeaderStreamType, e.StreamType)
	add(HeaderStreamVersion, strconv.FormatInt(e.StreamVersion, 10))
	add(HeaderPosition, strconv.FormatInt(e.Cursor.Position, 10))
	if !e.RecordedAt.IsZero() {
		add(HeaderRecordedAt, e.RecordedAt.UTC().Format(time.RFC3339Nano))
	}
	return hs
}

// await blocks until a delivery report arrives, ctx is done or d passes.
func (s *leadState) await(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ev := <-s.deliveries:
		s.delivered(ev)
	case <-ctx.Done():
	case <-t.C:
	}
}

// collect takes every delivery report already waiting.
func (s *leadState) collect() {
	for {
		select {
		case ev := <-s.deliveries:
			s.delivered(ev)
		default:
			s.advance()
			return
		}
	}
}

func (s *leadState) delivered(ev kafka.Event) {
	m, ok := ev.(*kafka.Message)
	if !ok {
		return
	}
	sl, ok := m.Opaque.(*slot)
	if !ok {
		return
	}
	cfg := &s.r.cfg
	now := cfg.Now()
	sl.done = true
	s.inflight--
	if m.TopicPartition.Error != nil {
		sl.err = &DeliveryError{Topic: sl.topic, Key: sl.key, EventID: sl.eventID, Err: m.TopicPartition.Error}
		if refusedForGood(m.TopicPartition.Error) {
			sl.err = s.quarantine(context.Background(), sl, m.TopicPartition.Error)
		}
		if s.failed == nil {
			s.failed = sl.err
		}
		if cfg.Metrics != nil {
			cfg.Metrics.RelayFailures.WithLabelValues(cfg.Name, sl.topic).Inc()
		}
		return
	}
	s.r.acked++
	if s.q.held[sl.eventID] { // Kafka took it now (its limit was raised)
		ctx, cancel := s.r.dbctx(context.Background())
		if err := resolveQuarantined(ctx, cfg.DB, cfg.Name, sl.eventID); err != nil {
			cfg.Logger.Warn("relay quarantine", "relay", cfg.Name, "err", err)
		}
		cancel()
		delete(s.q.held, sl.eventID)
		s.r.quarantineGauge(len(s.q.held))
	}
	if cfg.OnDelivered != nil {
		cfg.OnDelivered(Delivery{Cursor: sl.cursor, EventID: sl.eventID, Topic: sl.topic,
			Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset),
			RecordedAt: sl.recordedAt, SentAt: sl.sentAt, AckedAt: now})
	}
	if cfg.Metrics != nil {
		cfg.Metrics.RelayProduced.WithLabelValues(cfg.Name, sl.topic).Inc()
		cfg.Metrics.ProduceLatency.WithLabelValues(cfg.Name).Observe(now.Sub(sl.sentAt).Seconds())
		if !sl.recordedAt.IsZero() {
			cfg.Metrics.CommitToAckLatency.WithLabelValues(cfg.Name).Observe(now.Sub(sl.recordedAt).Seconds())
		}
	}
}

// advance moves the checkpoint over the acknowledged prefix.
func (s *leadState) advance() {
	i := 0
	for ; i < len(s.pending) && s.pending[i].done && s.pending[i].err == nil; i++ {
		s.cp = s.pending[i].cursor
	}
	if i > 0 {
		clear(s.pending[:i])
		s.pending = s.pending[i:]
	}
}

func (s *leadState) checkpoint(ctx context.Context, force bool) error {
	cfg := &s.r.cfg
	if force {
		// The writer is stopped; store the final prefix synchronously.
		s.stopWriter()
		if err := s.l.save(ctx, s.cp); err != nil {
			return err
		}
		s.saved = s.cp
		return nil
	}
	now := cfg.Now()
	if s.ckpt == nil || s.cp == s.saved || (now.Sub(s.lastSave) < cfg.CheckpointEvery && s.inflight > 0) {
		return nil
	}
	select { // replace a value the writer has not taken yet
	case <-s.ckpt:
	default:
	}
	s.ckpt <- s.cp
	s.saved, s.lastSave = s.cp, now
	return nil
}

// checkpointWriter stores checkpoints through the lease connection off the
// produce loop, and pings the lease while no checkpoint moves. It is the only
// user of the lease connection while it runs.
func (s *leadState) checkpointWriter(ctx context.Context, in <-chan Cursor, errc chan<- error, done chan<- struct{}) {
	defer close(done)
	ping := time.NewTicker(s.r.cfg.LeaseTimeout / 3)
	defer ping.Stop()
	for {
		var err error
		select {
		case c, ok := <-in:
			if !ok {
				return
			}
			err = s.l.save(ctx, c)
		case <-ping.C:
			err = s.l.confirm(ctx)
		case <-ctx.Done():
			return
		}
		if err != nil && ctx.Err() == nil {
			errc <- err
			return
		}
	}
}

// stopWriter stops the checkpoint writer (idempotent) and waits for it.
func (s *leadState) stopWriter() {
	if s.ckpt == nil {
		return
	}
	close(s.ckpt)
	s.ckpt = nil
	<-s.ckptDone
}

// idle waits for new events when the log is drained (reader goroutine).
func (s *leadState) idle(ctx context.Context) {
	cfg := &s.r.cfg
	if w, ok := cfg.Log.(LogWaiter); ok {
		wctx, cancel := s.r.dbctx(ctx)
		defer cancel()
		if err := w.WaitForAppend(wctx, cfg.IdleWait); err != nil && ctx.Err() == nil {
			cfg.Logger.Debug("relay wait", "err", err)
			sleep(ctx, cfg.IdleWait)
		}
		return
	}
	sleep(ctx, cfg.IdleWait)
}

// shutdown waits for in-flight deliveries (bounded) and stores the
// acknowledged prefix.
func (s *leadState) shutdown() error {
	cfg := &s.r.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if errors.Is(s.failed, ErrLeaseLost) {
		// Fenced: what is still queued was purged; the checkpoint belongs
		// to the next leader.
		s.stopWriter()
		return s.failed
	}
	for s.inflight > 0 && ctx.Err() == nil {
		s.await(ctx, 100*time.Millisecond)
		s.collect()
	}
	s.collect()
	if err := s.checkpoint(ctx, true); err != nil {
		return errors.Join(s.failed, err)
	}
	return s.failed
}

func (s *leadState) report(ctx context.Context) {
	cfg := &s.r.cfg
	now := cfg.Now()
	if now.Sub(s.lastProg) < cfg.ProgressEvery {
		return
	}
	s.lastProg = now
	if h, ok := cfg.Log.(LogHead); ok {
		hctx, cancel := s.r.dbctx(ctx)
		head, err := h.HeadPosition(hctx)
		cancel()
		if err == nil {
			s.lagEvents = max(0, head-s.cp.Position)
		}
	}
	lagSec := 0.0
	if len(s.pending) > 0 && !s.pending[0].recordedAt.IsZero() {
		lagSec = now.Sub(s.pending[0].recordedAt).Seconds()
	}
	if cfg.Metrics != nil {
		if s.lagEvents >= 0 {
			cfg.Metrics.RelayLagEvents.WithLabelValues(cfg.Name).Set(float64(s.lagEvents))
		}
		cfg.Metrics.RelayLagSeconds.WithLabelValues(cfg.Name).Set(lagSec)
		cfg.Metrics.RelayHeldEvents.WithLabelValues(cfg.Name).Set(float64(len(s.held)))
	}
	s.r.progress(RelayProgress{Leader: true, Acked: s.r.acked, InFlight: s.inflight, Checkpoint: s.cp,
		LagEvents: s.lagEvents, LagSeconds: lagSec, Held: len(s.held)})
}

// fence stops a leader that lost its lease from producing anything more:
// messages still queued in the producer are purged (their delivery reports
// fail), so only what was already sent may still land.
func (s *leadState) fence() {
	if err := s.p.Purge(kafka.PurgeQueue | kafka.PurgeNonBlocking); err != nil {
		s.r.cfg.Logger.Warn("relay purge", "relay", s.r.cfg.Name, "err", err)
	}
	s.r.cfg.Logger.Error("relay fenced: lease lost; stopped producing", "relay", s.r.cfg.Name, "epoch", s.l.epoch, "err", s.failed)
}

// quarantine records an event Kafka refused for good and returns the error
// that stops this lead: the relay holds at the event (so nothing of its
// stream overtakes it) until an operator skips it, alerting meanwhile.
func (s *leadState) quarantine(ctx context.Context, sl *slot, cause error) error {
	cfg := &s.r.cfg
	qerr := &QuarantinedError{Relay: cfg.Name, EventID: sl.eventID, Stream: sl.key, Topic: sl.topic, Size: sl.size, Err: cause}
	dctx, cancel := s.r.dbctx(ctx)
	defer cancel()
	if err := recordQuarantine(dctx, cfg.DB, cfg.Name, sl, cause.Error()); err != nil {
		return errors.Join(qerr, err)
	}
	if !s.q.held[sl.eventID] {
		s.q.held[sl.eventID] = true
	}
	s.r.quarantineGauge(len(s.q.held))
	cfg.Logger.Error("relay: Kafka refused an event for good; holding at it until `strata relay quarantine skip`",
		"relay", cfg.Name, "event_id", sl.eventID, "stream", sl.key, "type", sl.eventType, "topic", sl.topic, "bytes", sl.size, "err", cause)
	return qerr
}

func (r *Relay) quarantineGauge(n int) {
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.RelayQuarantined.WithLabelValues(r.cfg.Name).Set(float64(n))
	}
}

func (r *Relay) progress(p RelayProgress) {
	if r.cfg.Progress != nil {
		p.Acked = r.acked
		r.cfg.Progress(p)
	}
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
