package eventstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/internal/testenv"
)

// newPool returns a pool on a fresh, migrated throwaway database.
func newPool(t testing.TB, maxConns int32) *pgxpool.Pool {
	t.Helper()
	url := testenv.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// fixedClock is a deterministic clock that moves one millisecond per call.
type fixedClock struct{ n atomic.Int64 }

func (c *fixedClock) Now() time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

func newStore(t testing.TB, maxConns int32) *eventstore.Store {
	t.Helper()
	clock := &fixedClock{}
	s, err := eventstore.New(newPool(t, maxConns), eventstore.Config{Clock: clock.Now, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Test events: JSON payloads with a schema whose fingerprint is the SHA-256
// of a fake schema text, standing in for Avro.
type itemAdded struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

type itemRemoved struct {
	Item string `json:"item"`
}

func testSchema(name string, shape int) eventstore.Schema {
	js := fmt.Sprintf(`{"type":"record","name":%q,"shape":%d}`, name, shape)
	return eventstore.Schema{Fingerprint: sha256.Sum256([]byte(js)), Name: name, JSON: js}
}

var (
	addedSchema   = testSchema("test.cart.ItemAdded", 1)
	removedSchema = testSchema("test.cart.ItemRemoved", 1)
)

func ev(id uuid.UUID, v any) eventstore.EventData {
	var sc eventstore.Schema
	switch v.(type) {
	case itemAdded:
		sc = addedSchema
	case itemRemoved:
		sc = removedSchema
	default:
		panic(fmt.Sprintf("test: unknown event %T", v))
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return eventstore.EventData{ID: id, Type: sc.Name, Schema: sc, Payload: b}
}

// ids gives deterministic uuids: seq(7) is the same value every call.
func seq(n int) uuid.UUID {
	var u uuid.UUID
	u[0] = 0xee
	for i := 0; i < 8; i++ {
		u[15-i] = byte(n >> (8 * i))
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

func seqFrom(base int) func() uuid.UUID {
	var n atomic.Int64
	n.Store(int64(base))
	return func() uuid.UUID { return seq(int(n.Add(1))) }
}

func adds(next func() uuid.UUID, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev(next(), itemAdded{Item: fmt.Sprintf("i%d", i), Qty: i + 1})
	}
	return out
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readAllSettled reads the whole global log once it holds want events. The
// read horizon is conservative: a transaction of another database (other test
// packages run beside this one) that ends while the horizon is computed holds
// readers back for a moment, so a test waits instead of expecting every
// committed event on the first read. It fails when more than want arrive.
func readAllSettled(t testing.TB, s *eventstore.Store, want int) []eventstore.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := s.ReadAll(context.Background(), eventstore.Start, 0)
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		if len(evs) >= want || time.Now().After(deadline) {
			if len(evs) != want {
				t.Fatalf("global log has %d events, want %d", len(evs), want)
			}
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
}
