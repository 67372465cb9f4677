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
	if err := r.retry(ctx, func() error { return Migrate(ctx, r.cfg.DB) }); err != nil {
		return err
	}
	backoff := r.cfg.MinBackoff
	for {
		l, err := tryLease(ctx, r.cfg.DB, r.cfg.Name)
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
		r.cfg.Logger.Info("relay lease taken", "relay", r.cfg.Name)
		started := r.cfg.Now()
		err = r.lead(ctx, l)
		l.close(context.Background())
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
	done       bool
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

	cp, err := l.load(ctx)
	if err != nil {
		return err
	}
	st := &leadState{
		r: r, l: l, p: p, cp: cp, saved: cp, read: cp,
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
		events, err := cfg.Log.ReadLog(ctx, cursor, cfg.BatchSize)
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
	name := s.r.cfg.Route(e)
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
		if s.failed == nil {
			s.failed = sl.err
		}
		if cfg.Metrics != nil {
			cfg.Metrics.RelayFailures.WithLabelValues(cfg.Name, sl.topic).Inc()
		}
		return
	}
	s.r.acked++
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
	ping := time.NewTicker(5 * time.Second)
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
			if _, perr := s.l.conn.Exec(ctx, "SELECT 1"); perr != nil {
				err = s.l.wrap("lease ping", perr)
			}
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
		if err := w.WaitForAppend(ctx, cfg.IdleWait); err != nil && ctx.Err() == nil {
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
		if head, err := h.HeadPosition(ctx); err == nil {
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
