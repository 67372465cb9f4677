package runbook

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratahq/strata/eventstore"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	inventoryservice "github.com/stratahq/strata/services/inventory/service"
	orderservice "github.com/stratahq/strata/services/order/service"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	paymentservice "github.com/stratahq/strata/services/payment/service"
	"github.com/stratahq/strata/services/projector/service"
	sagaservice "github.com/stratahq/strata/services/saga/service"
	"github.com/stratahq/strata/tools/strata/cli"
)

// shop is the whole system in-process over the real stack: the order
// service (gRPC and its command consumer), the relay, the projector, payment,
// inventory and the saga orchestrator, on a throwaway database and topics
// with a prefix of their own. Each service has its own metrics registry.
type shop struct {
	prefix, brokers, registry, url string
	pool                           *pgxpool.Pool
	store                          *eventstore.Store
	orders                         orderv1.OrderServiceClient
	regs                           map[string]*prometheus.Registry
	gateway                        *payadapters.SimulatedGateway
	invFaults                      *invadapters.Faults
}

// run runs f until the test ends; an early stop fails the test.
func run(t *testing.T, name string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := f(ctx)
		if err != nil && ctx.Err() == nil {
			t.Errorf("%s stopped: %v", name, err)
		}
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
}

func startShop(t *testing.T, payFaults payadapters.Faults, inv invadapters.Config) *shop {
	t.Helper()
	s := &shop{
		brokers: testenv.KafkaBrokers(t), registry: testenv.SchemaRegistryURL(t), url: testenv.NewDatabase(t),
		prefix: testenv.UniqueName("rb") + ".", regs: map[string]*prometheus.Registry{},
		gateway: payadapters.NewSimulatedGateway(payFaults), invFaults: invadapters.NewFaults(inv),
	}
	ctx := context.Background()
	var err error
	if s.pool, err = pgxpool.New(ctx, s.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.pool.Close)
	if _, err := eventstore.Migrate(ctx, s.pool); err != nil {
		t.Fatal(err)
	}
	if s.store, err = eventstore.New(s.pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	kc := func() messaging.KafkaConfig { return messaging.KafkaConfig{"bootstrap.servers": s.brokers} }
	for _, n := range []string{"order", "projector", "payment", "inventory", "saga", "relay"} {
		s.regs[n] = observe.NewRegistry()
	}
	orderReady := make(chan string, 1)
	run(t, "order", func(ctx context.Context) error {
		return orderservice.Run(ctx, orderservice.Config{
			DatabaseURL: s.url, GRPCAddr: "127.0.0.1:0", Registry: s.regs["order"],
			Commands: orderservice.DefaultCommands(), Ready: func(a, _ string) { orderReady <- a },
			Kafka: kc(), SchemaRegistryURL: s.registry,
			CommandTopics: []string{s.prefix + "commands.order"}, CommandGroup: s.prefix + "order-commands",
		})
	})
	relayMetrics := messaging.NewMetrics()
	if err := relayMetrics.Register(s.regs["relay"]); err != nil {
		t.Fatal(err)
	}
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: s.prefix + "relay", Log: messaging.NewStoreLog(s.store), DB: s.pool,
		Registry: testenv.RegistryClient(t, s.registry), RegisterSchemas: true, Kafka: kc(), Metrics: relayMetrics,
		Route: func(e *messaging.LogEvent) string { return s.prefix + messaging.DefaultRoute(e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "relay", relay.Run)
	run(t, "projector", func(ctx context.Context) error {
		return service.Run(ctx, service.Config{
			DatabaseURL: s.url, Kafka: kc(), SchemaRegistryURL: s.registry, GRPCAddr: "127.0.0.1:0",
			Group: s.prefix + "projector", Topics: []string{s.prefix + "events.order"}, Registry: s.regs["projector"],
		})
	})
	run(t, "payment", func(ctx context.Context) error {
		return paymentservice.Run(ctx, paymentservice.Config{
			DatabaseURL: s.url, Kafka: kc(), SchemaRegistryURL: s.registry, TopicPrefix: s.prefix,
			Group: "payment", Registry: s.regs["payment"], Gateway: s.gateway,
		})
	})
	run(t, "inventory", func(ctx context.Context) error {
		return inventoryservice.Run(ctx, inventoryservice.Config{
			DatabaseURL: s.url, Kafka: kc(), SchemaRegistryURL: s.registry, TopicPrefix: s.prefix,
			Group: "inventory", Registry: s.regs["inventory"], Faults: s.invFaults, Inventory: inv,
		})
	})
	run(t, "saga", func(ctx context.Context) error {
		return sagaservice.Run(ctx, sagaservice.Config{
			DatabaseURL: s.url, Kafka: kc(), SchemaRegistryURL: s.registry, TopicPrefix: s.prefix,
			Group: "saga-orchestrator", Registry: s.regs["saga"],
			RetryDelay: 100 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		})
	})
	select {
	case addr := <-orderReady:
		conn, err := grpc.NewClient(addr, append(observe.GRPCClientOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		s.orders = orderv1.NewOrderServiceClient(conn)
	case <-time.After(60 * time.Second):
		t.Fatal("order service did not start")
	}
	return s
}

// strata runs the CLI in-process, as an operator would from a shell.
func strata(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	t.Logf("$ strata %s\n%s%s(exit %d)", strings.Join(args, " "), out.String(), errb.String(), code)
	return code, out.String() + errb.String()
}

// metric returns the value of the series of name whose labels include want
// (summed over matching series; counters, gauges, histogram counts).
func metric(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			sum += value(m)
		}
	}
	return sum
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
