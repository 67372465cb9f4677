// Package shoptest starts the whole shop in-process over the real stack for
// tests: the order service (gRPC and its command consumer), the relay, the
// projector (read models and query API), payment, inventory and the saga
// orchestrator, on a throwaway database and topics with a prefix of their
// own. Each service has its own metrics registry. It skips (fails under CI)
// when the stack is missing, as internal/testenv does.
package shoptest

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riferrei/srclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/serde"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	inventoryservice "github.com/stratahq/strata/services/inventory/service"
	orderservice "github.com/stratahq/strata/services/order/service"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	paymentservice "github.com/stratahq/strata/services/payment/service"
	"github.com/stratahq/strata/services/projector/service"
	sagaservice "github.com/stratahq/strata/services/saga/service"
)

// Shop is the running shop.
type Shop struct {
	Prefix, Brokers, Registry, URL string
	Pool                           *pgxpool.Pool
	Store                          *eventstore.Store
	Orders                         orderv1.OrderServiceClient
	OrderAddr, QueryAddr           string // gRPC addresses of the order and query services
	Regs                           map[string]*prometheus.Registry
	Gateway                        *payadapters.SimulatedGateway
	InvFaults                      *invadapters.Faults
}

// Kafka is the Kafka configuration the services use.
func (s *Shop) Kafka() messaging.KafkaConfig {
	return messaging.KafkaConfig{"bootstrap.servers": s.Brokers}
}

// Run runs f until the test ends; an early stop fails the test.
func Run(t testing.TB, name string, f func(context.Context) error) {
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

// Start starts the shop; it stops when the test ends.
func Start(t testing.TB, payFaults payadapters.Faults, inv invadapters.Config) *Shop {
	t.Helper()
	s := &Shop{
		Brokers: testenv.KafkaBrokers(t), Registry: testenv.SchemaRegistryURL(t), URL: testenv.NewDatabase(t),
		Prefix: testenv.UniqueName("rb") + ".", Regs: map[string]*prometheus.Registry{},
		Gateway: payadapters.NewSimulatedGateway(payFaults), InvFaults: invadapters.NewFaults(inv),
	}
	ctx := context.Background()
	var err error
	if s.Pool, err = pgxpool.New(ctx, s.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Pool.Close)
	if _, err := eventstore.Migrate(ctx, s.Pool); err != nil {
		t.Fatal(err)
	}
	if s.Store, err = eventstore.New(s.Pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"order", "projector", "payment", "inventory", "saga", "relay"} {
		s.Regs[n] = observe.NewRegistry()
	}
	orderReady, queryReady := make(chan string, 1), make(chan string, 1)
	Run(t, "order", func(ctx context.Context) error {
		return orderservice.Run(ctx, orderservice.Config{
			DatabaseURL: s.URL, GRPCAddr: "127.0.0.1:0", Registry: s.Regs["order"],
			Commands: orderservice.DefaultCommands(), Ready: func(a, _ string) { orderReady <- a },
			Kafka: s.Kafka(), SchemaRegistryURL: s.Registry,
			CommandTopics: []string{s.Prefix + "commands.order"}, CommandGroup: s.Prefix + "order-commands",
		})
	})
	relayMetrics := messaging.NewMetrics()
	if err := relayMetrics.Register(s.Regs["relay"]); err != nil {
		t.Fatal(err)
	}
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: s.Prefix + "relay", Log: messaging.NewStoreLog(s.Store), DB: s.Pool,
		Registry: testenv.RegistryClient(t, s.Registry), RegisterSchemas: true, Kafka: s.Kafka(), Metrics: relayMetrics,
		Route: func(e *messaging.LogEvent) string { return s.Prefix + messaging.DefaultRoute(e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	Run(t, "relay", relay.Run)
	Run(t, "projector", func(ctx context.Context) error {
		return service.Run(ctx, service.Config{
			DatabaseURL: s.URL, Kafka: s.Kafka(), SchemaRegistryURL: s.Registry, GRPCAddr: "127.0.0.1:0",
			Group: s.Prefix + "projector", Topics: []string{s.Prefix + "events.order"}, Registry: s.Regs["projector"],
			Ready: func(a, _ string) { queryReady <- a },
		})
	})
	Run(t, "payment", func(ctx context.Context) error {
		return paymentservice.Run(ctx, paymentservice.Config{
			DatabaseURL: s.URL, Kafka: s.Kafka(), SchemaRegistryURL: s.Registry, TopicPrefix: s.Prefix,
			Group: "payment", Registry: s.Regs["payment"], Gateway: s.Gateway,
		})
	})
	Run(t, "inventory", func(ctx context.Context) error {
		return inventoryservice.Run(ctx, inventoryservice.Config{
			DatabaseURL: s.URL, Kafka: s.Kafka(), SchemaRegistryURL: s.Registry, TopicPrefix: s.Prefix,
			Group: "inventory", Registry: s.Regs["inventory"], Faults: s.InvFaults, Inventory: inv,
		})
	})
	Run(t, "saga", func(ctx context.Context) error {
		return sagaservice.Run(ctx, sagaservice.Config{
			DatabaseURL: s.URL, Kafka: s.Kafka(), SchemaRegistryURL: s.Registry, TopicPrefix: s.Prefix,
			Group: "saga-orchestrator", Registry: s.Regs["saga"],
			RetryDelay: 100 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		})
	})
	for _, w := range []struct {
		name string
		ch   chan string
		addr *string
	}{{"order", orderReady, &s.OrderAddr}, {"projector", queryReady, &s.QueryAddr}} {
		select {
		case *w.addr = <-w.ch:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s service did not start", w.name)
		}
	}
	conn, err := grpc.NewClient(s.OrderAddr, append(observe.GRPCClientOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.Orders = orderv1.NewOrderServiceClient(conn)
	return s
}

// SendCommand produces one saga command (a generated Avro type) to the
// shop's topic commands.<domain>, as the saga's outbox relay does
// (ProduceCommand).
func (s *Shop) SendCommand(t testing.TB, domain, commandID, key string, cmd any) {
	t.Helper()
	ProduceCommand(t, s.Brokers, s.Registry, s.Prefix+"commands."+domain, commandID, key, "test-"+key, cmd)
}

// ProduceCommand produces one saga command (a generated Avro type) to topic
// in the Confluent wire format, as the saga's outbox relay does: key,
// event-id = commandID, event-type, correlation id.
func ProduceCommand(t testing.TB, brokers, registryURL, topic, commandID, key, correlationID string, cmd any) {
	t.Helper()
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := types.TypeOf(cmd)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := testenv.RegistryClient(t, registryURL).CreateSchema(typ.Name, typ.JSON, srclient.Avro)
	if err != nil {
		t.Fatal(err)
	}
	_, value, err := types.EncodeWire(nil, sc.ID(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "acks": "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dr := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(key), Value: value,
		Headers: []kafka.Header{
			{Key: messaging.HeaderEventID, Value: []byte(commandID)},
			{Key: messaging.HeaderEventType, Value: []byte(typ.Name)},
			{Key: messaging.HeaderCorrelationID, Value: []byte(correlationID)},
			{Key: messaging.HeaderContentType, Value: []byte(messaging.ContentTypeAvro)},
		},
	}, dr)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-dr:
		if m, ok := ev.(*kafka.Message); !ok || m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery report")
	}
}
