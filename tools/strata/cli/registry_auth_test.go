package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
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
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/tools/strata/cli"
)

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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRelayAndCLIAgainstRegistryWithBasicAuth: `strata registry serve` with
// basic auth on (credentials from the environment), then the deploy step
// (`strata schema register`), the gate (`strata schema check --against
// registry`) and `strata relay` (registering nothing), every client taking
// its credentials from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO. Without them
// the CLI fails with the registry's 401.
func TestRelayAndCLIAgainstRegistryWithBasicAuth(t *testing.T) {
	t.Setenv("RELAY_METRICS_ADDR", "")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	regDB, storeDB, brokers := testenv.NewDatabase(t), testenv.NewDatabase(t), testenv.KafkaBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	userInfo := "deployer:" + uuid.NewString()
	t.Setenv("REGISTRY_BASIC_AUTH_USER_INFO", userInfo)
	addr := freeAddr(t)
	url := "http://" + addr
	sctx, stop := context.WithCancel(ctx)
	served := make(chan int, 1)
	var serveErr lockedBuffer
	go func() {
		served <- cli.Run(sctx, []string{"registry", "serve", "--addr", addr, "--database-url", regDB}, nil, &serveErr, &serveErr)
	}()
	defer func() {
		stop()
		if code := <-served; code != 0 {
			t.Errorf("registry serve exit %d: %s", code, serveErr.String())
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url + "/subjects")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("anonymous GET /subjects: %s, want 401", resp.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry not up: %v\n%s", err, serveErr.String())
		}
	}
	t.Setenv(client.EnvURL, url)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(ctx, args, nil, &out, &errb)
		return code, out.String(), errb.String()
	}

	t.Setenv(client.EnvBasicAuthUserInfo, "")
	if code, out, errs := run("schema", "register", "--root", root); code == 0 || !strings.Contains(out+errs, "401") {
		t.Fatalf("schema register without credentials: exit %d\n%s%s", code, out, errs)
	}
	t.Setenv(client.EnvBasicAuthUserInfo, userInfo)
	if code, out, errs := run("schema", "register", "--root", root); code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("schema register: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run("schema", "check", "--root", root, "--against", "registry"); code != 0 {
		t.Fatalf("schema check --against registry: exit %d\n%s%s", code, out, errs)
	}

	// The store: ten OrderCancelled, whose schema the deploy step registered.
	pool, err := pgxpool.New(ctx, storeDB)
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
	for i := range 10 {
		typ, body, err := types.Encode(&order.OrderCancelled{OrderID: fmt.Sprint("o-", i), Reason: "auth", CancelledAt: time.Unix(1, 0).UTC()})
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
	prefix := testenv.UniqueName("authrelay") + "."
	rctx, rstop := context.WithCancel(ctx)
	relayed := make(chan int, 1)
	var relayOut, relayErr lockedBuffer
	go func() {
		relayed <- cli.Run(rctx, []string{"relay", "--database-url", storeDB, "--brokers", brokers,
			"--topic-prefix", prefix, "--progress", "200ms"}, nil, &relayOut, &relayErr)
	}()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": testenv.UniqueName("auth"), "auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(prefix+"events.order", nil); err != nil {
		t.Fatal(err)
	}
	reg, err := client.NewFromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for deadline := time.Now().Add(60 * time.Second); n < 10 && time.Now().Before(deadline); {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue
		}
		n++
		id, _, err := serde.ParseWire(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := reg.GetSchema(id); err != nil || !strings.Contains(s.Schema(), "OrderCancelled") {
			t.Fatalf("schema id %d of a relayed message: %v", id, err)
		}
	}
	rstop()
	if code := <-relayed; code != 0 {
		t.Errorf("relay exit %d: %s", code, relayErr.String())
	}
	if n != 10 {
		t.Fatalf("relayed %d of 10 events through the registry with basic auth\n%s\n%s", n, relayOut.String(), relayErr.String())
	}
}
