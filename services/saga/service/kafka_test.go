package service_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/saga/answer"
	"github.com/stratahq/strata/serde"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	invsvc "github.com/stratahq/strata/services/inventory/service"
	orderadapters "github.com/stratahq/strata/services/order/adapters"
	ordercmd "github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
	orderports "github.com/stratahq/strata/services/order/ports"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	paysvc "github.com/stratahq/strata/services/payment/service"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// TestFulfilmentOverKafka runs the real services against real Kafka, the
// schema registry and PostgreSQL: the relay publishes the event store, the
// payment, inventory and saga services consume through the messaging
// runtime, the order service's commands.order router confirms and cancels.
// The orchestrator (the saga binary) is killed with SIGKILL and restarted
// while sagas are in flight.
func TestFulfilmentOverKafka(t *testing.T) {
	url := testenv.NewDatabase(t)
	brokers := testenv.KafkaBrokers(t)
	regURL := testenv.SchemaRegistryURL(t)
	prefix := testenv.UniqueName("sagatest") + "."
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Minute)
	defer cancel()

	// No topic exists beforehand, as on a fresh stack: the services must
	// cope with subscribing to topics that appear later.
	deleteTopicsAtEnd(t, brokers, prefix)
	pool, err := pgxpool.New(ctx, url)
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
	kcfg := messaging.KafkaConfig{"bootstrap.servers": brokers}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // warnings would drown the test output
	if testing.Verbose() {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	var wg sync.WaitGroup
	run := func(name string, f func(ctx context.Context) error, ctx context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	svcCtx, stopAll := context.WithCancel(ctx)
	defer func() { stopAll(); wg.Wait() }()

	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: prefix, Log: messaging.NewStoreLog(store), DB: pool, Registry: testenv.RegistryClient(t, regURL), RegisterSchemas: true,
		Kafka: kcfg, Route: func(e *messaging.LogEvent) string { return prefix + messaging.DefaultRoute(e) },
		IdleWait: 20 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	run("relay", relay.Run, svcCtx)

	gateway := payadapters.NewSimulatedGateway(payadapters.Faults{DeclineCustomers: []string{"declined"}})
	run("payment", func(ctx context.Context) error {
		return paysvc.Run(ctx, paysvc.Config{DatabaseURL: url, Kafka: kcfg, SchemaRegistryURL: regURL, TopicPrefix: prefix,
			Group: "payment", MetricsAddr: "off", Registry: prometheus.NewRegistry(), Gateway: gateway, Logger: quiet})
	}, svcCtx)
	invCfg := invadapters.Config{OutOfStockProducts: []string{"p-gone"}, InitialStock: 1000000}
	run("inventory", func(ctx context.Context) error {
		return invsvc.Run(ctx, invsvc.Config{DatabaseURL: url, Kafka: kcfg, SchemaRegistryURL: regURL, TopicPrefix: prefix,
			Group: "inventory", MetricsAddr: "off", Registry: prometheus.NewRegistry(), Inventory: invCfg, Logger: quiet})
	}, svcCtx)

	// The order service's side: its command handlers behind the saga-command adapter.
	orderStream := orderadapters.NewOrderStream(store, types, orderadapters.NewStoreDecoder(store, types, nil))
	orderCfg := ordercmd.DefaultConfig
	orderCfg.Answers = answer.New(store, types)
	orders := ordercmd.New(orderStream, orderadapters.NewStockCheck(), orderadapters.NewCreditCheck(0), time.Now, orderCfg)
	orderConsumer, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: prefix + "order", Topics: []string{prefix + fulfilment.TopicOrder}, DB: pool,
		Kafka:    messaging.KafkaConfig{"bootstrap.servers": brokers, "allow.auto.create.topics": "true", "topic.metadata.refresh.interval.ms": "5000"},
		Registry: testenv.RegistryClient(t, regURL), Decoder: messaging.NewResolvingDecoder(types),
		Router: orderports.CommandRouter(types, orders, quiet), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	run("order consumer", orderConsumer.Run, svcCtx)

	// The orchestrator runs as its own process (the saga binary), so that it
	// can be killed with SIGKILL mid-run: no graceful shutdown, no offsets
	// committed on the way out.
	bin := filepath.Join(t.TempDir(), "saga")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stratahq/strata/services/saga").CombinedOutput(); err != nil {
		t.Fatalf("go build saga: %v\n%s", err, out)
	}
	var sagaLog bytes.Buffer
	var sagaLogMu sync.Mutex
	startSaga := func() func() {
		cmd := exec.Command(bin, "--metrics-addr", "off")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "KAFKA_BROKERS="+brokers, "SCHEMA_REGISTRY_URL="+regURL,
			"STRATA_TOPIC_PREFIX="+prefix, "SAGA_GROUP=saga", "SAGA_RETRY_DELAY=200ms", "SAGA_POLL_INTERVAL=50ms",
			// Long: a shared, loaded broker (other packages' tests run in
			// parallel) must not turn into timeouts and compensations.
			"SAGA_PAYMENT_TIMEOUT=3m", "SAGA_INVENTORY_TIMEOUT=3m", "SAGA_ORDER_TIMEOUT=3m", "SAGA_COMPENSATION_TIMEOUT=3m",
			// A killed member holds its partitions until its session times
			// out: keep that short (the broker's minimum is 6s).
			"KAFKA_CONFIG_SESSION_TIMEOUT_MS=6000")
		w := writerFunc(func(b []byte) (int, error) { sagaLogMu.Lock(); defer sagaLogMu.Unlock(); return sagaLog.Write(b) })
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		kill := func() {
			once.Do(func() {
				_ = cmd.Process.Kill() // SIGKILL
				_ = cmd.Wait()
			})
		}
		t.Cleanup(kill)
		return kill
	}
	killSaga := startSaga()
	defer func() {
		if t.Failed() {
			sagaLogMu.Lock()
			t.Logf("saga processes' output:\n%s", sagaLog.String())
			sagaLogMu.Unlock()
		}
	}()

	s := &shop{t: t, url: url, pool: pool, store: store, types: types, orders: orders, orderStream: orderStream, gateway: gateway}
	if s.payments, err = payadapters.NewPayments(store, types); err != nil {
		t.Fatal(err)
	}
	if s.stocks, err = invadapters.NewStocks(store, types); err != nil {
		t.Fatal(err)
	}
	if s.reservations, err = invadapters.NewReservations(store, types); err != nil {
		t.Fatal(err)
	}

	// STRATA_SAGA_KAFKA_N sagas (default 100; a multiple of 10).
	n := 100
	if v := os.Getenv("STRATA_SAGA_KAFKA_N"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 10 || n%10 != 0 {
			t.Fatalf("STRATA_SAGA_KAFKA_N=%q: want a multiple of 10", v)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]string, n)
	start := time.Now()
	for i := range n {
		customer, products := fmt.Sprintf("c-%d", i), []string{fmt.Sprintf("p-%d", rng.IntN(5))}
		switch i % 10 {
		case 3:
			customer = "declined"
		case 7:
			products = append(products, "p-gone")
		}
		ids[i] = s.place(ctx, fmt.Sprintf("kafka-cmd-%d", i), customer, items(products...)...)
		if i%20 == 19 {
			time.Sleep(20 * time.Millisecond) // let sagas be in flight when the orchestrator dies
		}
		if i == n/2 {
			// Kill the orchestrator (SIGKILL) with sagas in flight, then start a new one.
			killSaga()
			time.Sleep(500 * time.Millisecond)
			killSaga = startSaga()
		}
	}
	got := s.waitTerminal(ctx, 5*time.Minute, ids...)
	t.Logf("%d sagas over Kafka terminal in %s", n, time.Since(start).Round(time.Millisecond))
	byStatus := map[saga.Status]int{}
	for i, id := range ids {
		byStatus[got[id].Status]++
		st := s.check(ctx, id)
		wantFail := i%10 == 3 || i%10 == 7
		if (st == order.Cancelled) != wantFail {
			t.Errorf("order %d (%s) ended %s; saga %s: %s", i, id, st, got[id].Status, got[id].Reason)
		}
		recs, err := store.ReadStream(ctx, payadapters.StreamID(fulfilment.PaymentID(id)), 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		answers := 0
		for _, r := range recs {
			if r.Type == "shop.payment.PaymentAuthorized" || r.Type == "shop.payment.PaymentFailed" {
				answers++
			}
		}
		if answers != 1 {
			t.Errorf("order %s: %d authorisation answers, want 1", id, answers)
		}
	}
	t.Logf("sagas by status: %v", byStatus)
	if byStatus[saga.StatusCompleted] != n-n/5 || byStatus[saga.StatusCompensated] != n/5 {
		t.Fatalf("sagas by status %v", byStatus)
	}
	// The commands went through Kafka as Avro in the Confluent wire format.
	if err := probeTopic(ctx, brokers, prefix+fulfilment.TopicPayment, "shop.payment.", fulfilment.StepProcessPayment); err != nil {
		t.Fatal(err)
	}
	if err := probeTopic(ctx, brokers, prefix+fulfilment.TopicOutcomes, "shop.saga.Fulfilment", ""); err != nil {
		t.Fatal(err)
	}
}

func deleteTopicsAtEnd(t *testing.T, brokers, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
		if err != nil {
			return
		}
		defer a.Close()
		var names []string
		for _, name := range []string{"events.order", "events.payment", "events.inventory", "events.stock",
			"commands.order", "commands.payment", "commands.inventory", "events.saga", "events.replies"} {
			names = append(names, prefix+name, prefix+name+".dlq")
		}
		_, _ = a.DeleteTopics(ctx, names)
	})
}

// probeTopic reads one message of topic and checks its framing and headers.
func probeTopic(ctx context.Context, brokers, topic, typePrefix, step string) error {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": topic + ".probe",
		"auto.offset.reset": "earliest", "enable.auto.commit": false})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			continue
		}
		if len(m.Value) < 5 || m.Value[0] != 0 {
			return fmt.Errorf("%s: value is not in the Confluent wire format", topic)
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if !strings.HasPrefix(h[messaging.HeaderEventType], typePrefix) || h[messaging.HeaderEventID] == "" ||
			h[messaging.HeaderCorrelationID] == "" || h[saga.HeaderSagaID] != string(m.Key) || h[saga.HeaderSagaStep] != step {
			return fmt.Errorf("%s: headers %v", topic, h)
		}
		return nil
	}
	return fmt.Errorf("%s: no message", topic)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
