package messaging_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/messaging"
)

// freezer is a TCP proxy to PostgreSQL that can freeze: it stops forwarding
// in both directions and keeps every socket open, so that the client sees a
// half-open connection (no RST, no FIN: a network partition).
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	held   []*atomic.Bool // per connection pair: frozen by freezeOpen
	closed atomic.Bool    // the test ended: frozen pipes give up
}

// freezeOpen freezes the connections open now and keeps forwarding the ones
// opened later: the pool's current connections go half-open, fresh ones work.
func (f *freezer) freezeOpen() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.held {
		h.Store(true)
	}
}

func newFreezer(t testing.TB, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	t.Cleanup(func() {
		f.closed.Store(true)
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			h := new(atomic.Bool)
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.held = append(f.held, h)
			f.mu.Unlock()
			go f.pipe(c, s, h)
			go f.pipe(s, c, h)
		}
	}()
	return f
}

func (f *freezer) pipe(dst, src net.Conn, held *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() || held.Load() {
			if f.closed.Load() {
				return
			}
			time.Sleep(50 * time.Millisecond) // hold the bytes and the sockets
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}

// url returns dbURL with its host replaced by the proxy's.
func (f *freezer) url(t testing.TB, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = f.ln.Addr().String()
	return u.String()
}

// TestRelayHalfOpenLeaseIsFenced: relay a's lease connection goes half-open
// (the network to PostgreSQL freezes; the server ends its session, so the
// advisory lock is free and relay b takes it). Relay a must stop producing
// within its LeaseTimeout, and b must not produce before a has stopped:
// never two relays publishing. Issue 14.
func TestRelayHalfOpenLeaseIsFenced(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, err := url.Parse(s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, u.Host)
	pcfg, err := pgxpool.ParseConfig(proxy.url(t, s.dbURL))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 4
	viaProxy, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)

	const leaseTimeout = 2 * time.Second
	var mu sync.Mutex
	delivered := map[string][]time.Time{} // relay -> ack times
	leaderSince := map[string]time.Time{}
	newRelay := func(id string, db *pgxpool.Pool) *messaging.Relay {
		cfg := s.relayConfig("fenced")
		cfg.DB = db // a: lease and checkpoints through the proxy; the log is read directly
		cfg.LeaseRetry = 100 * time.Millisecond
		cfg.LeaseTimeout = leaseTimeout
		cfg.ProgressEvery = 50 * time.Millisecond
		cfg.Progress = func(p messaging.RelayProgress) {
			mu.Lock()
			defer mu.Unlock()
			if p.Leader && leaderSince[id].IsZero() {
				leaderSince[id] = time.Now()
			}
		}
		cfg.OnDelivered = func(d messaging.Delivery) {
			mu.Lock()
			delivered[id] = append(delivered[id], d.AckedAt)
			mu.Unlock()
		}
		r, err := messaging.NewRelay(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	runInBackground(t, "relay a", newRelay("a", viaProxy).Run)
	n := s.appendOrders(t, ctx, 0, 5, 1, 1)
	waitFor(t, time.Minute, "relay a publishing", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered["a"]) >= n, fmt.Sprintf("a delivered %d of %d", len(delivered["a"]), n)
	})

	// The partition: a's connections freeze; the server ends a's session.
	proxy.frozen.Store(true)
	var killed int
	if err := s.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d lease sessions, want 1", killed)
	}
	partitioned := time.Now()
	runInBackground(t, "relay b", newRelay("b", s.pool).Run)

	// Keep appending for a while; every event must reach Kafka (through b).
	for v := 2; v <= 6; v++ {
		n += s.appendOrders(t, ctx, 0, 5, v, v)
		time.Sleep(500 * time.Millisecond)
	}
	msgs := readTopic(t, s.brokers, s.topic("order"), n, time.Minute)
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[messaging.Header(m.Headers, messaging.HeaderEventID)] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct events in Kafka, want %d", len(ids), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if leaderSince["b"].IsZero() {
		t.Fatal("relay b never led")
	}
	var aLate []time.Duration
	for _, at := range delivered["a"] {
		if at.After(partitioned.Add(leaseTimeout)) {
			aLate = append(aLate, at.Sub(partitioned).Round(time.Millisecond))
		}
	}
	if len(aLate) > 0 {
		t.Errorf("relay a, partitioned from PostgreSQL with its lease gone, published %d events after its %v lease timeout (at %v after the partition): two relays published",
			len(aLate), leaseTimeout, aLate[:min(5, len(aLate))])
	}
	for _, at := range delivered["b"] {
		if at.Before(partitioned.Add(leaseTimeout)) {
			t.Errorf("relay b published %v after the partition, before a's lease timeout %v ran out", at.Sub(partitioned), leaseTimeout)
			break
		}
	}
}

// TestRelayQuarantinesWhatKafkaRefuses: an event Kafka refuses (larger than
// message.max.bytes; stored before the store's limit, or under a larger
// one) must not stall the relay silently at its checkpoint. The relay
// quarantines it (listed, counted in a metric), holds the stream order until
// an operator skips it, then carries on. Issue 14.
func TestRelayQuarantinesWhatKafkaRefuses(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s.appendOrders(t, ctx, 0, 1, 1, 1)
	// A 1.5 MB event, accepted by a store without a size limit.
	unlimited, err := eventstore.New(s.pool, eventstore.Config{MaxEventBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	typ, _, err := s.types.Encode(orderEvent(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	bigID := uuid.New()
	if _, err := unlimited.Append(ctx, "order-0", "order", eventstore.Exact(1), eventstore.EventData{
		ID: bigID, Type: typ.Name, Payload: []byte(strings.Repeat("x", 1_500_000)),
		Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON},
	}); err != nil {
		t.Fatal(err)
	}
	n := 1 + s.appendOrders(t, ctx, 1, 4, 1, 1) // after the big one

	m := messaging.NewMetrics()
	cfg := s.relayConfig("quarantine")
	cfg.Metrics = m
	cfg.MinBackoff, cfg.MaxBackoff = 100*time.Millisecond, 500*time.Millisecond
	r, err := messaging.NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "relay", r.Run)

	var q []messaging.QuarantinedEvent
	waitFor(t, 30*time.Second, "the refused event in the quarantine", func() (bool, string) {
		q, err = messaging.ListQuarantine(ctx, s.pool, "quarantine")
		return err == nil && len(q) == 1, fmt.Sprintf("quarantine %+v, %v", q, err)
	})
	if q[0].EventID != bigID.String() || q[0].StreamID != "order-0" || q[0].Size < 1_500_000 ||
		!strings.Contains(strings.ToLower(q[0].Reason), "too large") || q[0].Skipped {
		t.Fatalf("quarantined %+v", q[0])
	}
	if v := counterValue(t, m.RelayQuarantined.WithLabelValues("quarantine")); v != 1 {
		t.Fatalf("quarantined gauge %v, want 1", v)
	}
	// Held: nothing after the refused event is published yet.
	if got := readTopic(t, s.brokers, s.topic("order"), 2, 2*time.Second); len(got) != 1 {
		t.Fatalf("%d messages before the skip, want 1 (the event before the refused one)", len(got))
	}
	if err := messaging.SkipQuarantined(ctx, s.pool, "quarantine", bigID.String()); err != nil {
		t.Fatal(err)
	}
	msgs := readTopic(t, s.brokers, s.topic("order"), n, time.Minute)
	if len(msgs) != n {
		t.Fatalf("%d messages after the skip, want %d", len(msgs), n)
	}
	waitFor(t, 30*time.Second, "the gauge back at 0", func() (bool, string) {
		v := counterValue(t, m.RelayQuarantined.WithLabelValues("quarantine"))
		return v == 0, fmt.Sprint(v)
	})
	q, err = messaging.ListQuarantine(ctx, s.pool, "quarantine")
	if err != nil || len(q) != 1 || !q[0].Skipped {
		t.Fatalf("quarantine after the skip: %+v, %v", q, err)
	}
}
