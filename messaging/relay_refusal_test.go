package messaging_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry"
	"github.com/stratahq/strata/registry/client"
)

// lockedBuffer collects log lines from the relay's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// privateRegistry serves Strata's registry over a throwaway database, so a
// test can make it refuse a shop subject without disturbing other tests.
func privateRegistry(t *testing.T) *srclient.SchemaRegistryClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := registry.Open(ctx, testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := httptest.NewServer(registry.NewServer(registry.NewStore(pool, nil), nil))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRelayRefusedSchemaHoldsOnlyItsType: the registry refuses
// shop.order.OrderShipped (an incompatible schema with registration on; not
// registered with registration off). The relay reports the subject and the
// registry's rule, every OrderPlaced (other type, other streams) reaches
// Kafka, the refused events wait, and once the registry accepts the schema
// they follow, each stream in order.
func TestRelayRefusedSchemaHoldsOnlyItsType(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register bool
		rule     string // in the relay's report
		fix      func(t *testing.T, reg *srclient.SchemaRegistryClient, shippedJSON string)
	}{
		{
			name: "incompatible, registration on", register: true, rule: "READER_FIELD_MISSING_DEFAULT_VALUE",
			fix: func(t *testing.T, reg *srclient.SchemaRegistryClient, _ string) {
				if _, err := reg.ChangeSubjectCompatibilityLevel("shop.order.OrderShipped", srclient.None); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "not registered, registration off", register: false, rule: "not registered",
			fix: func(t *testing.T, reg *srclient.SchemaRegistryClient, shippedJSON string) {
				if _, err := reg.CreateSchema("shop.order.OrderShipped", shippedJSON, srclient.Avro); err != nil {
					t.Fatal(err) // the deploy step
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			reg := privateRegistry(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			placed, _ := s.types.ByName("shop.order.OrderPlaced")
			shipped, _ := s.types.ByName("shop.order.OrderShipped")
			// Deploy: OrderPlaced is registered. OrderShipped's subject holds a
			// schema the writer schema cannot follow (with registration on).
			if _, err := reg.CreateSchema(placed.Name, placed.JSON, srclient.Avro); err != nil {
				t.Fatal(err)
			}
			if tc.register {
				legacy := `{"type":"record","name":"OrderShipped","namespace":"shop.order","fields":[{"name":"legacy","type":"string"}]}`
				if _, err := reg.CreateSchema(shipped.Name, legacy, srclient.Avro); err != nil {
					t.Fatal(err)
				}
			}
			// order-0..4 placed, order-0..1 shipped, then order-5..9 placed.
			s.appendOrders(t, ctx, 0, 5, 1, 1)
			s.appendOrders(t, ctx, 0, 2, 2, 2)
			s.appendOrders(t, ctx, 5, 10, 1, 1)

			logs := &lockedBuffer{}
			var held atomic.Int64
			cfg := s.relayConfig("refusal")
			cfg.Registry, cfg.RegisterSchemas = reg, tc.register
			cfg.SchemaRetry = 300 * time.Millisecond
			cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			cfg.ProgressEvery = 100 * time.Millisecond
			cfg.Progress = func(p messaging.RelayProgress) { held.Store(int64(p.Held)) }
			relay, err := messaging.NewRelay(cfg)
			if err != nil {
				t.Fatal(err)
			}
			stop := runInBackground(t, "relay", relay.Run)
			defer stop()

			msgs := readTopic(t, s.brokers, s.topic("order"), 10, time.Minute)
			placedCount := 0
			for _, m := range msgs {
				if typ := messaging.Header(m.Headers, messaging.HeaderEventType); typ != placed.Name {
					t.Errorf("relayed %s while its schema is refused", typ)
				} else {
					placedCount++
				}
			}
			if placedCount != 10 {
				t.Fatalf("%d OrderPlaced relayed past the refused type, want all 10", placedCount)
			}
			for deadline := time.Now().Add(10 * time.Second); held.Load() != 2 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if held.Load() != 2 {
				t.Errorf("progress reports %d held events, want 2", held.Load())
			}
			report := logs.String()
			if !strings.Contains(report, "subject=shop.order.OrderShipped") || !strings.Contains(report, tc.rule) {
				t.Fatalf("the relay's report names no subject or rule %q:\n%s", tc.rule, report)
			}

			tc.fix(t, reg, shipped.JSON)
			all := readTopic(t, s.brokers, s.topic("order"), 12, time.Minute)
			if len(all) != 12 {
				t.Fatalf("%d messages after the registry accepted the schema, want 12", len(all))
			}
			last := map[string]int64{}
			for _, m := range all {
				v, _ := strconv.ParseInt(messaging.Header(m.Headers, messaging.HeaderStreamVersion), 10, 64)
				if v != last[string(m.Key)]+1 {
					t.Errorf("stream %s: version %d after %d", m.Key, v, last[string(m.Key)])
				}
				last[string(m.Key)] = v
			}
			if last["order-0"] != 2 || last["order-1"] != 2 {
				t.Errorf("shipped events not relayed in order: %v", last)
			}
			for deadline := time.Now().Add(10 * time.Second); held.Load() != 0 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if held.Load() != 0 {
				t.Errorf("%d events still held", held.Load())
			}
		})
	}
}
