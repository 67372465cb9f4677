package runbook

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore"
	orderev "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/tools/strata/cli"
)

func newStore(t *testing.T) (string, *pgxpool.Pool, *eventstore.Store) {
	t.Helper()
	url := testenv.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return url, pool, store
}

// TestRunbookOrderInversion: docs/operations.md#event-order-inversion.
// OrderShipped reaches the read model before OrderPlaced (what a wrong
// partition key does). The projection refuses it (a gap), the failure shows
// in strata_projection_failures_total (alert StrataProjectionFailing), and
// `projector rebuild order_summaries` rebuilds the read model from the
// event store in commit order.
func TestRunbookOrderInversion(t *testing.T) {
	ctx := context.Background()
	url, pool, store := newStore(t)
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	orderID := uuid.NewString()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	values := []any{
		&orderev.OrderPlaced{OrderID: orderID, CustomerID: "c-1", Currency: "KRW", ShippingMethod: "STANDARD", PlacedAt: at, TotalAmount: 3000,
			Items:           []orderev.OrderItem{{ProductID: "p-1", Quantity: 3, UnitPrice: 1000}},
			ShippingAddress: orderev.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"}},
		&orderev.OrderConfirmed{OrderID: orderID, PaymentID: "pay-1", ReservationID: "res-1", ConfirmedAt: at.Add(time.Minute)},
		&orderev.OrderShipped{OrderID: orderID, Carrier: "CJ", TrackingNumber: "T1", ShippedAt: at.Add(time.Hour)},
	}
	var data []eventstore.EventData
	for _, v := range values {
		typ, body, err := types.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, eventstore.EventData{ID: uuid.New(), Type: typ.Name, Payload: body,
			Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON}})
	}
	stream := "order-" + orderID
	if _, err := store.Append(ctx, stream, "order", eventstore.NoStream, data...); err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadStream(ctx, stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	runner := projection.NewRunner(pool, service.Projections()...)
	if err := runner.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	// The incident: the last event arrives first.
	shipped := recs[2]
	ev := projection.Event{ID: shipped.ID.String(), Type: shipped.Type, StreamID: stream, StreamType: "order",
		Version: shipped.Version, Position: shipped.Position, RecordedAt: shipped.RecordedAt, Data: values[2]}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return runner.Apply(ctx, tx, ev) })
	if !errors.Is(err, projection.ErrGap) {
		t.Fatalf("out-of-order apply = %v, want ErrGap", err)
	}
	runner.RecordFailure(ctx, ev, err)

	// Detect.
	reg := prometheus.NewRegistry()
	reg.MustRegister(observe.NewProjectionStatusCollector(runner))
	if v := metric(t, reg, "strata_projection_failures_total", map[string]string{"projection": "order_summaries"}); v != 1 {
		t.Fatalf("strata_projection_failures_total = %v, want 1", v)
	}
	if v := metric(t, reg, "strata_projection_lag_events", map[string]string{"projection": "order_summaries"}); v != 3 {
		t.Fatalf("strata_projection_lag_events = %v, want 3", v)
	}
	if code, out := strata(t, "projection", "status", "--database-url", url); code != cli.ExitOK || !contains(out, "version 3") {
		t.Fatalf("projection status: exit %d", code)
	}

	// Recover: the one command.
	if code := service.Rebuild(ctx, []string{"order_summaries", "--database-url", url}, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("projector rebuild: exit %d", code)
	}
	var status string
	var version int64
	if err := pool.QueryRow(ctx, `SELECT status, version FROM read.order_summaries WHERE order_id = $1`, orderID).Scan(&status, &version); err != nil {
		t.Fatal(err)
	}
	if status != "SHIPPED" || version != 3 {
		t.Fatalf("after rebuild: status %s version %d, want SHIPPED 3", status, version)
	}
	if v := metric(t, reg, "strata_projection_lag_events", map[string]string{"projection": "order_summaries"}); v != 0 {
		t.Fatalf("after rebuild strata_projection_lag_events = %v, want 0", v)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestRunbookSchemaEvolutionAndDuplicates: docs/operations.md sections
// schema-evolution-failure and duplicate-processing-and-poison-messages.
//
// An OrderPlaced written with the historical v1 schema (amounts as doubles)
// reaches a projector deployed without the v1 -> v2 upcaster: it cannot be
// decoded and is dead-lettered at once (strata_messaging_consumer_dlq_total
// {kind="decode"}, alert StrataSchemaEvolutionFailure). The fixed projector
// (with upcasters) is deployed and `strata dlq replay` re-delivers it: the
// read model gets the order, upcast (currency KRW, minor units). Replaying
// again (another replay group) delivers it a second time: the processed-event
// marker absorbs the duplicate (outcome="duplicate"), the read model is
// unchanged.
func TestRunbookSchemaEvolutionAndDuplicates(t *testing.T) {
	ctx := context.Background()
	brokers, regURL := testenv.KafkaBrokers(t), testenv.SchemaRegistryURL(t)
	url, pool, _ := newStore(t)
	prefix := testenv.UniqueName("rbse") + "."
	topic, group := prefix+"events.order", prefix+"projector"
	root := testenv.RepoRoot(t)
	v1Schema, err := os.ReadFile(filepath.Join(root, "services/order/upcast/history/shop.order.OrderPlaced/v1.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	v1Payload, err := os.ReadFile(filepath.Join(root, "services/order/upcast/testdata/shop.order.OrderPlaced/v1.avro"))
	if err != nil {
		t.Fatal(err)
	}
	rc := testenv.RegistryClient(t, regURL)
	sc, err := rc.CreateSchema(prefix+"shop.order.OrderPlaced-v1", string(v1Schema), srclient.Avro)
	if err != nil {
		t.Fatalf("register v1 schema: %v", err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.idempotence": true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	eventID := uuid.NewString()
	dr := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte("order-order-0001"),
		Value:          serde.AppendWire(nil, sc.ID(), v1Payload),
		Headers: []kafka.Header{
			{Key: messaging.HeaderEventID, Value: []byte(eventID)},
			{Key: messaging.HeaderEventType, Value: []byte("shop.order.OrderPlaced")},
			{Key: messaging.HeaderStreamType, Value: []byte("order")},
			{Key: messaging.HeaderStreamVersion, Value: []byte("1")},
			{Key: messaging.HeaderPosition, Value: []byte("1")},
			{Key: messaging.HeaderRecordedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
			{Key: messaging.HeaderCorrelationID, Value: []byte("rb-legacy")},
		},
	}, dr)
	if err != nil {
		t.Fatal(err)
	}
	if m := (<-dr).(*kafka.Message); m.TopicPartition.Error != nil {
		t.Fatal(m.TopicPartition.Error)
	}

	// The old projector: same projections, no upcasters (Avro resolution only).
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	runner := projection.NewRunner(pool, service.Projections()...)
	if err := runner.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	router := messaging.NewRouter(types)
	runner.Register(router)
	oldReg := prometheus.NewRegistry()
	oldMetrics := messaging.NewMetrics()
	if err := oldMetrics.Register(oldReg); err != nil {
		t.Fatal(err)
	}
	old, err := messaging.NewConsumer(messaging.ConsumerConfig{
		Group: group, Topics: []string{topic}, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, DB: pool,
		Registry: rc, Decoder: messaging.NewResolvingDecoder(types), Router: router, Metrics: oldMetrics,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, CommitInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	octx, stopOld := context.WithCancel(ctx)
	oldDone := make(chan error, 1)
	go func() { oldDone <- old.Run(octx) }()
	// Detect.
	eventually(t, 60*time.Second, "the v1 event to be dead-lettered as undecodable", func() bool {
		return metric(t, oldReg, "strata_messaging_consumer_dlq_total", map[string]string{"kind": "decode"}) == 1
	})
	stopOld()
	<-oldDone
	if code, out := strata(t, "dlq", "list", "--topic", topic, "--brokers", brokers, "--registry", regURL); code != cli.ExitOK || !contains(out, eventID) {
		t.Fatalf("dlq list: exit %d", code)
	}

	// Deploy the fixed projector (the real service: upcasters), then recover.
	newReg := observe.NewRegistry()
	run(t, "projector", func(ctx context.Context) error {
		return service.Run(ctx, service.Config{
			DatabaseURL: url, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, SchemaRegistryURL: regURL,
			GRPCAddr: "127.0.0.1:0", Group: group, Topics: []string{topic}, Registry: newReg,
		})
	})
	if code, _ := strata(t, "dlq", "replay", "--topic", topic+".dlq", "--brokers", brokers, "--registry", regURL, "--group", prefix+"replay"); code != cli.ExitOK {
		t.Fatalf("dlq replay: exit %d", code)
	}
	var total int64
	var currency string
	eventually(t, 60*time.Second, "the replayed v1 order in the read model", func() bool {
		return pool.QueryRow(ctx, `SELECT total_amount, currency FROM read.order_summaries WHERE order_id = 'order-0001'`).Scan(&total, &currency) == nil
	})
	if total != 40999 || currency != "KRW" {
		t.Fatalf("upcast order: total %d %s, want 40999 KRW", total, currency)
	}

	// Duplicate delivery: a second replay (another group) sends it again.
	if code, _ := strata(t, "dlq", "replay", "--topic", topic+".dlq", "--brokers", brokers, "--registry", regURL, "--group", prefix+"replay-again"); code != cli.ExitOK {
		t.Fatalf("second dlq replay: exit %d", code)
	}
	eventually(t, 60*time.Second, "the duplicate to be absorbed", func() bool {
		return metric(t, newReg, "strata_messaging_consumer_messages_total", map[string]string{"outcome": "duplicate"}) == 1
	})
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*), max(total_amount) FROM read.order_summaries`).Scan(&n, &total); err != nil || n != 1 || total != 40999 {
		t.Fatalf("after the duplicate: %d rows, total %d, %v", n, total, err)
	}
	if v := metric(t, newReg, "strata_projection_events_total", map[string]string{"projection": "order_summaries", "outcome": "applied"}); v != 1 {
		t.Fatalf("strata_projection_events_total{applied} = %v, want 1", v)
	}
}
