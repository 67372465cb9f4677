package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"
)

// UnknownEvents says what the consumer does with an event type that has no
// handler.
type UnknownEvents int

const (
	// SkipUnknown commits past events without a handler (a consumer reads the
	// types it cares about from a topic that carries more).
	SkipUnknown UnknownEvents = iota
	// DeadLetterUnknown sends them to the dead-letter topic.
	DeadLetterUnknown
)

// ConsumerConfig configures a Consumer. Group, Topics, Kafka
// ("bootstrap.servers"), DB, Registry, Decoder and Router are required.
type ConsumerConfig struct {
	Group  string
	Topics []string
	// Kafka holds librdkafka properties passed through to the consumer and
	// the dead-letter producer (TLS, SASL, ...). The consumer sets group.id,
	// enable.auto.commit=false and enable.auto.offset.store=false, and
	// defaults auto.offset.reset to earliest.
	Kafka    KafkaConfig
	DB       *pgxpool.Pool // handler transactions and processed-event markers
	Registry Registry      // writer schemas by id
	Decoder  Decoder       // writer schema -> current Go type
	Router   *Router
	// MaxAttempts is how many times a handler may fail on one message before
	// it goes to the dead-letter topic. Default 5.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the retry schedule: the n-th retry waits
	// MinBackoff*2^(n-1), at most MaxBackoff. Defaults 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// MaxBuffered is how many messages one partition may hold (queued or
	// parked behind a retrying key) before the partition is paused. Default 1000.
	MaxBuffered int
	// CommitInterval is how often processed offsets are committed to Kafka.
	// Default 1s. Offsets are also committed on revoke and on shutdown.
	CommitInterval time.Duration
	// UnknownEvents: SkipUnknown (default) or DeadLetterUnknown.
	UnknownEvents UnknownEvents
	// DLQTopic names the dead-letter topic of a topic. Default topic + ".dlq".
	DLQTopic func(topic string) string
	// ShutdownTimeout bounds the wait for running handlers on shutdown or
	// revoke before their context is cancelled. Default 30s.
	ShutdownTimeout time.Duration
	// DBTimeout bounds each attempt's PostgreSQL transaction: Begin, the
	// processed-event marker, the handler (its context carries the deadline),
	// COMMIT and rollback, and the OnFailure hook. An attempt that runs out
	// of it (a half-open connection, a stuck server) is an infrastructure
	// failure: backed off, logged at Warn once it repeats, retried on another
	// connection, never counted towards the dead-letter topic. Default 30s.
	DBTimeout time.Duration
	// LagEvery is how often consumer lag is measured. Default 5s.
	LagEvery time.Duration
	Metrics  *Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	// OnHandle, when set, wraps each handler attempt (tracing, log context).
	OnHandle HandleHook
	// TopicSettings are used to create the subscribed topics that do not
	// exist yet, before subscribing (zero: the broker's defaults). Without
	// this a group subscribing to a topic created later sees it only after
	// librdkafka's next metadata refresh (topic.metadata.refresh.interval.ms,
	// five minutes by default).
	TopicSettings TopicSettings
}

// Validate reports every problem with the configuration at once.
func (c *ConsumerConfig) Validate() error {
	var errs []error
	req := func(ok bool, what string) {
		if !ok {
			errs = append(errs, fmt.Errorf("consumer: %s is required: %w", what, ErrConfig))
		}
	}
	req(c.Group != "", "Group")
	req(len(c.Topics) > 0, "Topics")
	req(c.Kafka["bootstrap.servers"] != "", "Kafka bootstrap.servers")
	req(c.DB != nil, "DB")
	req(c.Registry != nil, "Registry")
	req(c.Decoder != nil, "Decoder")
	req(c.Router != nil, "Router")
	if c.Router != nil {
		errs = append(errs, c.Router.errs...)
	}
	if c.MaxAttempts < 0 || c.MaxBuffered < 0 {
		errs = append(errs, fmt.Errorf("consumer: MaxAttempts and MaxBuffered must not be negative: %w", ErrConfig))
	}
	if c.DBTimeout < 0 {
		errs = append(errs, fmt.Errorf("consumer: DBTimeout %v must not be negative: %w", c.DBTimeout, ErrConfig))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 || (c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff) {
		errs = append(errs, fmt.Errorf("consumer: backoff bounds %v..%v: %w", c.MinBackoff, c.MaxBackoff, ErrConfig))
	}
	if v := c.Kafka["enable.auto.commit"]; v == "true" {
		errs = append(errs, fmt.Errorf("consumer: enable.auto.commit=true would commit unprocessed offsets: %w", ErrConfig))
	}
	return errors.Join(errs...)
}

func (c *ConsumerConfig) defaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = 1000
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = time.Second
	}
	if c.DLQTopic == nil {
		c.DLQTopic = func(t string) string { return t + DLQSuffix }
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.DBTimeout == 0 {
		c.DBTimeout = 30 * time.Second
	}
	if c.LagEvery == 0 {
		c.LagEvery = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Consumer reads a consumer group's topics, decodes each message through
// the registry and the Decoder, and applies it with its handler exactly once
// in effect: handler writes and the processed-event marker (group, event id)
// commit in one PostgreSQL transaction, and the Kafka offset is committed
// after. Each partition has its own worker; within a partition a failing key
// is parked with its later messages on a retry schedule while other keys go
// on (see docs/messaging.md).
type Consumer struct {
	cfg     ConsumerConfig
	writers *writerSchemas

	mu      sync.Mutex
	workers map[partKey]*worker

	ready     chan struct{} // closed once the group gave this member its first assignment
	readyOnce sync.Once
	assigned  atomic.Int64 // partitions assigned now
}

type partKey struct {
	topic     string
	partition int32
}

// NewConsumer checks cfg (router registrations included) and returns a
// consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Consumer{cfg: cfg, writers: newWriterSchemas(cfg.Registry), workers: map[partKey]*worker{}, ready: make(chan struct{})}, nil
}

// Ready is closed once the consumer has joined its group and received its
// first assignment (possibly empty, when the group has more members than
// partitions): from then on it consumes. A service reports itself ready
// (health SERVING, env file written) only after this.
func (c *Consumer) Ready() <-chan struct{} { return c.ready }

// Assigned returns how many partitions the consumer holds now.
func (c *Consumer) Assigned() int { return int(c.assigned.Load()) }

// Run consumes until ctx is done, then lets running handlers finish (at most
// ShutdownTimeout), commits processed offsets, leaves the group and returns
// nil. It returns an error when Kafka reports a fatal error or rejects the
// configuration.
func (c *Consumer) Run(ctx context.Context) error {
	cfg := &c.cfg
	if err := Migrate(ctx, cfg.DB); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cm := cfg.Kafka.configMap(map[string]kafka.ConfigValue{
		"group.id":                 cfg.Group,
		"enable.auto.commit":       false,
		"enable.auto.offset.store": false,
	})
	if _, ok := cfg.Kafka["auto.offset.reset"]; !ok {
		cm["auto.offset.reset"] = "earliest"
	}
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return fmt.Errorf("consumer %s: %w: %w", cfg.Group, ErrConfig, err)
	}
	pm := cfg.Kafka.configMap(map[string]kafka.ConfigValue{
		"enable.idempotence":  true,
		"acks":                "all",
		"go.delivery.reports": true,
	})
	if _, ok := cfg.Kafka["message.timeout.ms"]; !ok {
		// A dead-letter write that Kafka cannot take reports failure after
		// this and is tried again on the retry schedule (librdkafka's default
		// is five minutes).
		pm["message.timeout.ms"] = int(dlqDeliveryTimeout.Milliseconds())
	}
	dlq, err := kafka.NewProducer(&pm)
	if err != nil {
		kc.Close()
		return fmt.Errorf("consumer %s dead-letter producer: %w: %w", cfg.Group, ErrConfig, err)
	}
	go func() {
		for range dlq.Events() { // errors and logs only; reports go to per-call channels
		}
	}()
	defer dlq.Close()

	// Handlers keep running through a graceful stop; each worker's context
	// is cancelled only when ShutdownTimeout passes while it is stopped.
	run := &runState{c: c, kc: kc, dlq: dlq, base: context.WithoutCancel(ctx), paused: map[partKey]bool{}, committed: map[partKey]int64{}}
	// The dead-letter topics are created with the topics, explicitly (with
	// TopicSettings), never by the broker's auto-create on a first dead letter.
	topics := append([]string(nil), cfg.Topics...)
	for _, t := range cfg.Topics {
		topics = append(topics, cfg.DLQTopic(t))
	}
	if err := EnsureTopics(ctx, cfg.Kafka, cfg.TopicSettings, topics...); err != nil {
		kc.Close()
		return fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	if err := kc.SubscribeTopics(cfg.Topics, run.rebalance); err != nil {
		kc.Close()
		return fmt.Errorf("consumer %s subscribe %v: %w", cfg.Group, cfg.Topics, err)
	}
	err = run.loop(ctx)
	run.stopAll()
	run.commit(true)
	// Close leaves the group (a dynamic member sends LeaveGroup), so the
	// next instance is assigned at once instead of after session.timeout.ms.
	run.setAssigned(-1, false)
	if cerr := kc.Close(); cerr != nil && err == nil {
		cfg.Logger.Warn("consumer close", "group", cfg.Group, "err", cerr)
	}
	return err
}

type runState struct {
	c         *Consumer
	kc        *kafka.Consumer
	dlq       *kafka.Producer
	base      context.Context // parent of the workers' handler contexts: not cancelled by Run's ctx
	paused    map[partKey]bool
	committed map[partKey]int64
}

func (r *runState) loop(ctx context.Context) error {
	cfg := &r.c.cfg
	lastCommit, lastLag := cfg.Now(), cfg.Now()
	for ctx.Err() == nil {
		ev := r.kc.Poll(100)
		switch e := ev.(type) {
		case *kafka.Message:
			r.enqueue(e)
		case kafka.Error:
			if e.IsFatal() {
				return fmt.Errorf("consumer %s: fatal kafka error: %w", cfg.Group, e)
			}
			cfg.Logger.Debug("consumer kafka", "group", cfg.Group, "err", e)
		}
		now := cfg.Now()
		r.resume()
		if now.Sub(lastCommit) >= cfg.CommitInterval {
			lastCommit = now
			r.commit(false)
		}
		if now.Sub(lastLag) >= cfg.LagEvery {
			lastLag = now
			r.measureLag()
		}
	}
	return nil
}

func (r *runState) enqueue(m *kafka.Message) {
	cfg := &r.c.cfg
	k := partKey{*m.TopicPartition.Topic, m.TopicPartition.Partition}
	w := r.worker(k)
	if n := w.enqueue(m); n >= cfg.MaxBuffered && !r.paused[k] {
		if err := r.kc.Pause([]kafka.TopicPartition{tp(k, kafka.OffsetInvalid)}); err == nil {
			r.paused[k] = true
		}
	}
}

// resume resumes paused partitions whose worker drained below half.
func (r *runState) resume() {
	cfg := &r.c.cfg
	for k := range r.paused {
		w := r.c.workerIfAny(k)
		if w == nil {
			delete(r.paused, k)
			continue
		}
		if w.buffered() < cfg.MaxBuffered/2 {
			if err := r.kc.Resume([]kafka.TopicPartition{tp(k, kafka.OffsetInvalid)}); err == nil {
				delete(r.paused, k)
			}
		}
	}
}

func (c *Consumer) workerIfAny(k partKey) *worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.workers[k]
}

func (r *runState) worker(k partKey) *worker {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.workers[k]
	if !ok {
		var ctx context.Context
		w, ctx = newWorker(c, r, k)
		c.workers[k] = w
		go w.loop(ctx)
	}
	return w
}

func tp(k partKey, off kafka.Offset) kafka.TopicPartition {
	t := k.topic
	return kafka.TopicPartition{Topic: &t, Partition: k.partition, Offset: off}
}

// rebalance is called from Poll. On revoke it lets the partitions' running
// handlers finish, commits their processed offsets and drops their workers,
// so the next owner starts exactly after what this one committed.
func (r *runState) rebalance(kc *kafka.Consumer, ev kafka.Event) error {
	cfg := &r.c.cfg
	cooperative := kc.GetRebalanceProtocol() == "COOPERATIVE"
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		cfg.Logger.Info("consumer assigned", "group", cfg.Group, "partitions", len(e.Partitions))
		var err error
		if cooperative {
			err = kc.IncrementalAssign(e.Partitions)
		} else {
			err = kc.Assign(e.Partitions)
		}
		if err == nil {
			r.setAssigned(len(e.Partitions), cooperative)
			r.c.readyOnce.Do(func() { close(r.c.ready) })
		}
		return err
	case kafka.RevokedPartitions:
		cfg.Logger.Info("consumer revoked", "group", cfg.Group, "partitions", len(e.Partitions))
		keys := make([]partKey, 0, len(e.Partitions))
		for _, p := range e.Partitions {
			keys = append(keys, partKey{*p.Topic, p.Partition})
		}
		r.stop(keys)
		r.commit(true)
		r.forget(keys)
		if kc.AssignmentLost() {
			cfg.Logger.Warn("consumer assignment lost; processed offsets may be committed by the next owner", "group", cfg.Group)
		}
		r.setAssigned(-len(e.Partitions), cooperative)
		if cooperative {
			return kc.IncrementalUnassign(e.Partitions)
		}
		return kc.Unassign()
	}
	return nil
}

// setAssigned records the assignment's size: n partitions more (cooperative,
// n may be negative), or n in all (eager: a revoke takes all of them).
func (r *runState) setAssigned(n int, cooperative bool) {
	c := r.c
	switch {
	case cooperative:
		c.assigned.Add(int64(n))
	case n < 0:
		c.assigned.Store(0)
	default:
		c.assigned.Store(int64(n))
	}
	if m := c.cfg.Metrics; m != nil && m.ConsumerAssigned != nil {
		m.ConsumerAssigned.WithLabelValues(c.cfg.Group).Set(float64(c.assigned.Load()))
	}
}

func (r *runState) stop(keys []partKey) {
	c := r.c
	var ws []*worker
	c.mu.Lock()
	for _, k := range keys {
		if w, ok := c.workers[k]; ok {
			ws = append(ws, w)
		}
	}
	c.mu.Unlock()
	r.stopWorkers(ws)
}

func (r *runState) stopAll() {
	c := r.c
	c.mu.Lock()
	ws := make([]*worker, 0, len(c.workers))
	for _, w := range c.workers {
		ws = append(ws, w)
	}
	c.mu.Unlock()
	r.stopWorkers(ws)
}

// stopWorkers asks workers to stop after their current message and waits
// (ShutdownTimeout at most, then cancels handler contexts and waits again).
func (r *runState) stopWorkers(ws []*worker) {
	for _, w := range ws {
		w.requestStop()
	}
	deadline := time.NewTimer(r.c.cfg.ShutdownTimeout)
	defer deadline.Stop()
	expired := false
	for _, w := range ws {
		if !expired {
			select {
			case <-w.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		if w.stopped() {
			continue
		}
		// Only this worker's handler is cancelled: the run and the other
		// partitions' workers keep their contexts.
		r.c.cfg.Logger.Warn("consumer handler outlived ShutdownTimeout; cancelling it", "group", r.c.cfg.Group,
			"topic", w.k.topic, "partition", w.k.partition, "timeout", r.c.cfg.ShutdownTimeout)
		w.cancel()
		<-w.done
	}
}

func (r *runState) forget(keys []partKey) {
	c := r.c
	c.mu.Lock()
	for _, k := range keys {
		if w, ok := c.workers[k]; ok && w.stopped() {
			delete(c.workers, k)
		}
		delete(r.paused, k)
		delete(r.committed, k)
	}
	c.mu.Unlock()
}

// commit commits each partition's processed position (the offset after the
// longest fully processed prefix) when it moved.
func (r *runState) commit(sync bool) {
	c := r.c
	var offs []kafka.TopicPartition
	c.mu.Lock()
	for k, w := range c.workers {
		pos := w.position()
		if pos < 0 || r.committed[k] == pos {
			continue
		}
		offs = append(offs, tp(k, kafka.Offset(pos)))
	}
	c.mu.Unlock()
	if len(offs) == 0 {
		return
	}
	if _, err := r.kc.CommitOffsets(offs); err != nil {
		c.cfg.Logger.Warn("consumer commit", "group", c.cfg.Group, "err", err)
		return
	}
	for _, o := range offs {
		r.committed[partKey{*o.Topic, o.Partition}] = int64(o.Offset)
	}
	_ = sync // CommitOffsets is synchronous
}

func (r *runState) measureLag() {
	c := r.c
	if c.cfg.Metrics == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, w := range c.workers {
		_, high, err := r.kc.GetWatermarkOffsets(k.topic, k.partition)
		if err != nil || high < 0 {
			continue
		}
		pos := w.position()
		if pos < 0 {
			continue
		}
		c.cfg.Metrics.ConsumerLag.WithLabelValues(c.cfg.Group, k.topic, strconv.Itoa(int(k.partition))).Set(float64(max(0, high-pos)))
	}
}
