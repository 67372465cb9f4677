package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/serde"
)

// worker processes one partition in offset order, except that a key whose
// message is waiting for a retry is parked (with its later messages) while
// other keys go on. The committed position is the first unfinished offset.
type worker struct {
	c   *Consumer
	run *runState
	k   partKey

	mu     sync.Mutex
	queue  []*kafka.Message
	notify chan struct{}

	stopCh   chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// cancel ends this worker's handler context (its own, so that a handler
	// that outlives ShutdownTimeout is cancelled without touching the run or
	// other partitions).
	cancel context.CancelFunc

	// Owned by the worker goroutine.
	track   []*item          // unfinished and finished items in offset order
	lanes   map[string]*lane // keys parked behind a retry
	nextPos int64            // offset after the last finished-prefix item

	pos      atomic.Int64 // processed position for commits (-1: none yet)
	nbuf     atomic.Int64 // queued + parked messages
	isClosed atomic.Bool
}

type item struct {
	m      *kafka.Message
	offset int64
	done   bool
}

// lane is a parked key: head waits for its next attempt, backlog behind it.
type lane struct {
	key      string
	head     *item
	backlog  []*item
	attempts int // failed handler attempts of head
	infra    int // consecutive infrastructure failures of head (not counted against MaxAttempts)
	// dlq receives the result of head's dead-letter write while it is in
	// flight (nil otherwise): the worker goes on with other keys meanwhile.
	dlq     chan error
	first   time.Time
	last    time.Time
	lastErr error
	kind    PoisonKind // non-empty once head is to be dead-lettered
	nextAt  time.Time
	delay   time.Duration
}

func newWorker(c *Consumer, run *runState, k partKey) (*worker, context.Context) {
	ctx, cancel := context.WithCancel(run.base)
	w := &worker{c: c, run: run, k: k, notify: make(chan struct{}, 1), cancel: cancel,
		stopCh: make(chan struct{}), done: make(chan struct{}), lanes: map[string]*lane{}, nextPos: -1}
	w.pos.Store(-1)
	return w, ctx
}

func (w *worker) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *worker) enqueue(m *kafka.Message) int {
	w.mu.Lock()
	w.queue = append(w.queue, m)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return int(w.nbuf.Add(1))
}

func (w *worker) buffered() int   { return int(w.nbuf.Load()) }
func (w *worker) position() int64 { return w.pos.Load() }
func (w *worker) stopped() bool   { return w.isClosed.Load() }
func (w *worker) requestStop()    { w.stopOnce.Do(func() { close(w.stopCh) }) }
func (w *worker) stopping() bool {
	select {
	case <-w.stopCh:
		return true
	default:
		return false
	}
}

func (w *worker) take() []*kafka.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

func (w *worker) loop(ctx context.Context) {
	defer func() {
		w.cancel()
		w.isClosed.Store(true)
		close(w.done)
	}()
	for !w.stopping() {
		w.retryDue(ctx)
		for _, m := range w.take() {
			if w.stopping() {
				return
			}
			it := &item{m: m, offset: int64(m.TopicPartition.Offset)}
			w.track = append(w.track, it)
			if l, ok := w.lanes[string(m.Key)]; ok {
				l.backlog = append(l.backlog, it)
				continue
			}
			w.attempt(ctx, it, nil)
		}
		w.wait()
	}
}

// wait blocks until a message is queued, a retry is due or stop.
func (w *worker) wait() {
	var timer <-chan time.Time
	if next, ok := w.nextDue(); ok {
		d := next.Sub(w.c.cfg.Now())
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-w.notify:
	case <-timer:
	case <-w.stopCh:
	}
}

func (w *worker) nextDue() (time.Time, bool) {
	var next time.Time
	for _, l := range w.lanes {
		if l.dlq != nil {
			continue // its write's result pokes the worker
		}
		if next.IsZero() || l.nextAt.Before(next) {
			next = l.nextAt
		}
	}
	return next, !next.IsZero()
}

// retryDue retries every parked key whose time has come, then drains its
// backlog in order while messages finish.
func (w *worker) retryDue(ctx context.Context) {
	now := w.c.cfg.Now()
	for key, l := range w.lanes {
		if w.stopping() {
			return
		}
		if w.lanes[key] != l {
			continue
		}
		if l.dlq != nil {
			if len(l.dlq) == 0 {
				continue // the dead-letter write is still in flight
			}
		} else if l.nextAt.After(now) {
			continue
		}
		if !w.attempt(ctx, l.head, l) {
			continue
		}
		for i, it := range l.backlog {
			if w.stopping() {
				// Unfinished backlog stays unprocessed; the position does not
				// pass it, so the next owner or run redelivers it.
				return
			}
			if !w.attempt(ctx, it, nil) {
				nl := w.lanes[key]
				nl.backlog = append(nl.backlog, l.backlog[i+1:]...)
				break
			}
		}
	}
}

// attempt runs one attempt of it (l is its lane when it is a retry). It
// returns true when the message is finished (handled, duplicate, skipped or
// dead-lettered; its lane, if any, is then removed and the caller drains the
// lane's backlog) and false when it is parked for a retry.
func (w *worker) attempt(ctx context.Context, it *item, l *lane) bool {
	cfg := &w.c.cfg
	if l != nil && l.kind != "" { // only the dead-letter write is left to do
		return w.deadLetter(it, l)
	}
	attempt := 1
	if l != nil {
		attempt = l.attempts + 1
		if cfg.Metrics != nil {
			cfg.Metrics.Retries.WithLabelValues(cfg.Group, w.k.topic).Inc()
		}
	}
	out, err := w.c.process(ctx, it.m, attempt)
	now := cfg.Now()
	switch out {
	case outcomeHandled, outcomeDuplicate, outcomeSkipped:
		w.finish(it, out)
		if l != nil {
			delete(w.lanes, l.key)
		}
		return true
	}
	if l == nil {
		l = &lane{key: string(it.m.Key), head: it, first: now}
		w.lanes[l.key] = l
	}
	l.last, l.lastErr = now, err
	var n int // failures the backoff grows with
	switch out {
	case outcomePoison:
		l.kind = PoisonDecode
		var pe *PoisonError
		if errors.As(err, &pe) {
			l.kind = pe.Kind
		}
		l.attempts++
	case outcomeRetry:
		l.attempts++
		l.infra = 0
		n = l.attempts
		if !IsRetryable(err) || l.attempts >= cfg.MaxAttempts {
			l.kind = PoisonHandler
		}
	case outcomeInfra:
		// PostgreSQL, the registry or the commit failed: not the message's
		// fault, so never counted towards the dead-letter topic, but backed
		// off like handler failures and reported at Warn once it repeats.
		l.infra++
		n = l.infra
		if cfg.Metrics != nil && cfg.Metrics.InfraFailures != nil {
			cfg.Metrics.InfraFailures.WithLabelValues(cfg.Group, w.k.topic).Inc()
		}
	}
	if l.kind != "" {
		return w.deadLetter(it, l)
	}
	l.delay = w.backoff(n)
	l.nextAt = now.Add(l.delay)
	level := slog.LevelDebug
	msg := "consumer retry"
	if out == outcomeInfra && l.infra >= infraWarnAfter {
		level, msg = slog.LevelWarn, "consumer infrastructure failure"
	}
	cfg.Logger.Log(ctx, level, msg, "group", cfg.Group, "topic", w.k.topic, "partition", w.k.partition,
		"offset", it.offset, "attempt", attempt, "failures", n, "in", l.delay, "err", err,
		"event_id", Header(it.m.Headers, HeaderEventID), "correlation_id", Header(it.m.Headers, HeaderCorrelationID))
	return false
}

// infraWarnAfter is how many consecutive infrastructure failures of one
// message are logged at Debug before they are logged at Warn.
const infraWarnAfter = 3

// backoff is the wait after the n-th consecutive failure: MinBackoff*2^(n-1)
// at most MaxBackoff, with jitter.
func (w *worker) backoff(n int) time.Duration {
	cfg := &w.c.cfg
	d := cfg.MinBackoff
	for i := 1; i < n && d < cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, cfg.MaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) // jitter: [d/2, d]
}

// deadLetter writes the message to the dead-letter topic without waiting
// for the delivery report: the lane stays parked (its key's later messages
// behind it, other keys going on) until the report arrives, then the message
// is finished, or on failure the write is tried again after a backoff.
func (w *worker) deadLetter(it *item, l *lane) bool {
	cfg := &w.c.cfg
	if l.dlq == nil {
		l.dlq = make(chan error, 1)
		if err := w.c.publishDLQ(w.run, it.m, l, w.poke); err != nil {
			l.dlq <- err
		}
		if len(l.dlq) == 0 {
			return false
		}
	}
	err := <-l.dlq
	l.dlq = nil
	if err != nil {
		cfg.Logger.Warn("consumer dead-letter write", "group", cfg.Group, "topic", w.k.topic, "err", err)
		l.delay = min(max(2*l.delay, cfg.MinBackoff), cfg.MaxBackoff)
		l.nextAt = cfg.Now().Add(l.delay)
		return false
	}
	if cfg.Metrics != nil {
		cfg.Metrics.DLQ.WithLabelValues(cfg.Group, w.k.topic, string(l.kind)).Inc()
	}
	cfg.Logger.Warn("consumer dead-lettered", "group", cfg.Group, "topic", w.k.topic, "partition", w.k.partition,
		"offset", it.offset, "kind", l.kind, "attempts", l.attempts, "err", l.lastErr,
		"event_id", Header(it.m.Headers, HeaderEventID), "correlation_id", Header(it.m.Headers, HeaderCorrelationID))
	w.finish(it, outcomeDLQ)
	delete(w.lanes, l.key)
	return true
}

// finish marks it done and advances the processed position.
func (w *worker) finish(it *item, out outcome) {
	cfg := &w.c.cfg
	it.done = true
	w.nbuf.Add(-1)
	if cfg.Metrics != nil {
		cfg.Metrics.Handled.WithLabelValues(cfg.Group, w.k.topic, out.String()).Inc()
	}
	i := 0
	for ; i < len(w.track) && w.track[i].done; i++ {
		w.nextPos = w.track[i].offset + 1
	}
	if i > 0 {
		clear(w.track[:i])
		w.track = w.track[i:]
		w.pos.Store(w.nextPos)
	}
}

type outcome int

const (
	outcomeHandled outcome = iota
	outcomeDuplicate
	outcomeSkipped
	outcomeDLQ
	outcomeRetry  // the handler failed
	outcomeInfra  // PostgreSQL or the registry failed: retry, not counted
	outcomePoison // cannot be decoded: dead-letter at once
)

func (o outcome) String() string {
	switch o {
	case outcomeHandled:
		return "handled"
	case outcomeDuplicate:
		return "duplicate"
	case outcomeSkipped:
		return "skipped"
	case outcomeDLQ:
		return "dlq"
	case outcomeRetry:
		return "retry"
	case outcomeInfra:
		return "infra"
	case outcomePoison:
		return "poison"
	}
	return "unknown"
}

// process makes one attempt at one message.
func (c *Consumer) process(ctx context.Context, m *kafka.Message, attempt int) (_ outcome, err error) {
	cfg := &c.cfg
	env := envelopeOf(m)
	env.Attempt = attempt
	poison := func(kind PoisonKind, err error) (outcome, error) {
		return outcomePoison, &PoisonError{Kind: kind, Topic: env.Topic, Partition: env.Partition, Offset: env.Offset, Attempts: attempt, Err: err}
	}
	id, body, err := serde.ParseWire(m.Value)
	if err != nil {
		return poison(PoisonNotWireFormat, fmt.Errorf("%w: %w", ErrNotWireFormat, err))
	}
	env.SchemaID = uint32(id)
	ws, err := c.writers.get(uint32(id))
	if err != nil {
		if errors.Is(err, ErrUnknownSchema) {
			return poison(PoisonUnknownSchema, err)
		}
		return outcomeInfra, err
	}
	eventType := ws.fullName
	if eventType == "" {
		eventType = env.EventType
	}
	env.EventType = eventType
	h, ok := cfg.Router.handlers[eventType]
	if !ok {
		if cfg.UnknownEvents == DeadLetterUnknown {
			return poison(PoisonNoHandler, fmt.Errorf("%s: %w", eventType, ErrNoHandler))
		}
		return outcomeSkipped, nil
	}
	ev, err := cfg.Decoder.Decode(eventType, ws.schema, body)
	if err != nil {
		return poison(PoisonDecode, fmt.Errorf("%s schema id %d: %w: %w", eventType, id, ErrDecode, err))
	}
	if env.EventID == "" {
		env.EventID = env.Topic + "/" + strconv.Itoa(int(env.Partition)) + "/" + strconv.FormatInt(env.Offset, 10)
	}

	if cfg.OnHandle != nil {
		var done func(error)
		ctx, done = cfg.OnHandle(ctx, env)
		defer func() { done(err) }()
	}
	start := cfg.Now()
	defer func() {
		if cfg.Metrics != nil {
			cfg.Metrics.HandlerLatency.WithLabelValues(cfg.Group, eventType).Observe(cfg.Now().Sub(start).Seconds())
		}
	}()
	// The attempt's database work (Begin to COMMIT, the handler included)
	// runs under DBTimeout: a half-open connection or a stuck server fails it
	// as infrastructure, and the pool drops the connection, instead of
	// hanging the partition's worker. ctx stays the worker's context: it
	// ends only when a stop outlives ShutdownTimeout.
	actx, cancelAttempt := context.WithTimeout(ctx, cfg.DBTimeout)
	defer cancelAttempt()
	bounded := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), cfg.DBTimeout)
	}
	timedOut := func() bool { return actx.Err() != nil && ctx.Err() == nil }
	infra := func(what string, err error) (outcome, error) {
		if timedOut() {
			return outcomeInfra, fmt.Errorf("%s: attempt exceeded DBTimeout %v: %w", what, cfg.DBTimeout, err)
		}
		return outcomeInfra, fmt.Errorf("%s: %w", what, err)
	}
	// The server's side of the same bound: a client that vanished mid-
	// transaction (half-open: the server sees an idle transaction) has its
	// session ended after DBTimeout, so its locks (the processed marker, the
	// handler's rows) do not block the retry on a fresh connection until
	// TCP keepalive notices, hours later.
	tx, err := cfg.DB.BeginTx(actx, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL idle_in_transaction_session_timeout = " +
		strconv.FormatInt(max(cfg.DBTimeout.Milliseconds(), 1), 10)})
	if err != nil {
		return infra("begin", err)
	}
	defer func() {
		rctx, cancel := bounded()
		defer cancel()
		_ = tx.Rollback(rctx) // no-op after Commit
	}()
	tag, err := tx.Exec(actx, `INSERT INTO messaging_processed_events (consumer_group, event_id, topic, kafka_partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, cfg.Group, env.EventID, env.Topic, env.Partition, env.Offset)
	if err != nil {
		return infra("processed marker", err)
	}
	if tag.RowsAffected() == 0 {
		return outcomeDuplicate, nil
	}
	if herr := h(actx, tx, env, ev); herr != nil {
		if timedOut() {
			// The database (or the handler) held the attempt past DBTimeout:
			// not the message's fault, so not counted and not reported to
			// OnFailure.
			return infra(fmt.Sprintf("%s event %s", eventType, env.EventID), herr)
		}
		err := fmt.Errorf("%s event %s: %w: %w", eventType, env.EventID, ErrHandler, herr)
		// Roll back before the failure hook runs: it may write (in its own
		// transaction) and must not wait for a second pool connection while
		// this one is held.
		rctx, cancel := bounded()
		_ = tx.Rollback(rctx)
		cancel()
		if f := cfg.Router.onFailure; f != nil && ctx.Err() == nil { // a shutdown is no failure
			fctx, cancel := bounded()
			f(fctx, env, herr)
			cancel()
		}
		return outcomeRetry, err
	}
	if err := tx.Commit(actx); err != nil {
		if isDataError(err) { // a deferred constraint the handler's writes broke
			return outcomeRetry, fmt.Errorf("%s event %s commit: %w: %w", eventType, env.EventID, ErrHandler, err)
		}
		// The connection or the server failed (or DBTimeout ran out): whether
		// the commit took effect is unknown, and the processed marker decides
		// on the next attempt.
		return infra(fmt.Sprintf("%s event %s commit", eventType, env.EventID), err)
	}
	return outcomeHandled, nil
}

// isDataError reports whether err is PostgreSQL refusing the data (SQLSTATE
// class 23, integrity constraint violation), which a retry cannot fix.
func isDataError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "23")
}

// dlqDeliveryTimeout is the dead-letter producer's message.timeout.ms
// unless the Kafka configuration sets it.
const dlqDeliveryTimeout = 30 * time.Second

// publishDLQ produces m, with dead-letter headers, to its dead-letter topic.
// The delivery result is sent on l.dlq (and poke is called) when the report
// arrives; an error returned here means nothing was produced.
func (c *Consumer) publishDLQ(r *runState, m *kafka.Message, l *lane, poke func()) error {
	cfg := &c.cfg
	topic := cfg.DLQTopic(*m.TopicPartition.Topic)
	errText := ""
	if l.lastErr != nil {
		errText = l.lastErr.Error()
	}
	hs := make([]kafka.Header, 0, len(m.Headers)+9)
	hs = append(hs, m.Headers...)
	add := func(k, v string) { hs = append(hs, kafka.Header{Key: k, Value: []byte(v)}) }
	add(HeaderDLQError, errText)
	add(HeaderDLQKind, string(l.kind))
	add(HeaderDLQAttempts, strconv.Itoa(max(l.attempts, 1)))
	add(HeaderDLQOriginalTopic, *m.TopicPartition.Topic)
	add(HeaderDLQOriginalPartition, strconv.Itoa(int(m.TopicPartition.Partition)))
	add(HeaderDLQOriginalOffset, strconv.FormatInt(int64(m.TopicPartition.Offset), 10))
	add(HeaderDLQFirstFailure, l.first.UTC().Format(time.RFC3339Nano))
	add(HeaderDLQLastFailure, l.last.UTC().Format(time.RFC3339Nano))
	add(HeaderDLQConsumerGroup, cfg.Group)
	report := make(chan kafka.Event, 1)
	err := r.dlq.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            m.Key, Value: m.Value, Headers: hs, Timestamp: m.Timestamp,
	}, report)
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", topic, err)
	}
	result := l.dlq
	go func() {
		// The producer always reports (message.timeout.ms bounds it).
		var err error
		if dm, ok := (<-report).(*kafka.Message); ok && dm.TopicPartition.Error != nil {
			err = fmt.Errorf("dead-letter %s: %w: %w", topic, ErrDelivery, dm.TopicPartition.Error)
		}
		result <- err
		poke()
	}()
	return nil
}
