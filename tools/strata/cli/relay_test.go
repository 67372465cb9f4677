package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/serde"
)

// relayOutput is a bytes.Buffer safe for the relay's progress writes.
type relayOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *relayOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *relayOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRelayCommand runs `strata relay` over a store with ten events and
// reads them back from Kafka.
func TestRelayCommand(t *testing.T) {
	// A relay started by `make run` exports its metrics address; this test's
	// relay must not try to bind the same port.
	t.Setenv("RELAY_METRICS_ADDR", "")
	dbURL := testenv.NewDatabase(t)
	brokers := testenv.KafkaBrokers(t)
	regURL := testenv.SchemaRegistryURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		typ, body, err := types.Encode(&order.OrderCancelled{OrderID: fmt.Sprint("o-", i), Reason: "test", CancelledAt: time.Unix(1, 0).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, fmt.Sprint("o-", i), "order", eventstore.NoStream, eventstore.EventData{
			ID: uuid.New(), Type: typ.Name, Payload: body,
			Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON},
		}); err != nil {
			t.Fatal(err)
		}
	}
	prefix := testenv.UniqueName("clirelay") + "."
	out, errb := &relayOutput{}, &relayOutput{}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- Run(rctx, []string{"relay", "--database-url", dbURL, "--brokers", brokers, "--registry", regURL, "--register-schemas",
			"--topic-prefix", prefix, "--progress", "100ms", "-X", "client.id=strata-relay-test"}, nil, out, errb)
	}()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": testenv.UniqueName("chk"), "auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(prefix+"events.order", nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	for deadline := time.Now().Add(60 * time.Second); n < 10 && time.Now().Before(deadline); {
		if _, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			n++
		}
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "acked=10 ") && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	rcancel()
	if code := <-done; code != ExitOK {
		t.Errorf("relay exit %d: %s", code, errb.String())
	}
	if n != 10 {
		t.Errorf("read %d messages, want 10", n)
	}
	if !strings.Contains(out.String(), "acked=10 ") || !strings.Contains(out.String(), "stopped") {
		t.Errorf("progress output:\n%s", out.String())
	}
	var none bytes.Buffer
	if code := Run(ctx, []string{"relay", "--database-url", "", "--brokers", "", "--registry", ""}, nil, &none, &none); code != ExitUsage {
		t.Errorf("relay without settings: exit %d, want %d", code, ExitUsage)
	}
}
