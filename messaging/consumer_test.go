package messaging_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

func (s *stack) consumerConfig(group string, router *messaging.Router, topics ...string) messaging.ConsumerConfig {
	return messaging.ConsumerConfig{
		Group:          group,
		Topics:         topics,
		Kafka:          s.kafka(),
		DB:             s.pool,
		Registry:       s.reg,
		Decoder:        messaging.NewResolvingDecoder(s.types),
		Router:         router,
		MinBackoff:     50 * time.Millisecond,
		MaxBackoff:     200 * time.Millisecond,
		CommitInterval: 200 * time.Millisecond,
		LagEvery:       500 * time.Millisecond,
		Logger:         quietLogger(),
	}
}

// TestConsumerBuildsReadModelExactlyOnce relays a store to Kafka, builds a
// read model with a consumer, then relays everything a second time (a
// relay with a fresh checkpoint: every message duplicated) and checks the
// read model still equals one rebuilt from the store.
func TestConsumerBuildsReadModelExactlyOnce(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := s.pool.Exec(ctx, viewDDL); err != nil {
		t.Fatal(err)
	}
	total := s.appendOrders(t, ctx, 0, 30, 1, 4)
	want := s.rebuildView(t, ctx)

	m := messaging.NewMetrics()
	cfg := s.consumerConfig(testenv.UniqueName("g"), viewRouter(t, s.types), s.topic("order"))
	cfg.Metrics = m
	cons, err := messaging.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopCons := runInBackground(t, "consumer", cons.Run)
	relay, err := messaging.NewRelay(s.relayConfig("first"))
	if err != nil {
		t.Fatal(err)
	}
	stopRelay := runInBackground(t, "relay", relay.Run)
	waitFor(t, time.Minute, "read model", func() (bool, string) {
		got := loadView(t, ctx, s.pool)
		return reflect.DeepEqual(got, want), fmt.Sprintf("%d of %d orders", len(got), len(want))
	})
	stopRelay()

	// Every event again: the consumer must skip all of them.
	again, err := messaging.NewRelay(s.relayConfig("second"))
	if err != nil {
		t.Fatal(err)
	}
	stopAgain := runInBackground(t, "second relay", again.Run)
	dup := m.Handled.WithLabelValues(cfg.Group, s.topic("order"), "duplicate")
	waitFor(t, time.Minute, "duplicates skipped", func() (bool, string) {
		n := counterValue(t, dup)
		return int(n) == total, fmt.Sprintf("%v of %d", n, total)
	})
	stopAgain()
	stopCons()
	if got := loadView(t, ctx, s.pool); !reflect.DeepEqual(got, want) {
		t.Errorf("read model after duplicates differs from the rebuild")
	}
	if n := counterValue(t, m.Handled.WithLabelValues(cfg.Group, s.topic("order"), "handled")); int(n) != total {
		t.Errorf("handled %v, want %d", n, total)
	}
	if n := seriesCount(m.DLQ); n != 0 {
		t.Errorf("%d DLQ series, want none", n)
	}
	var markers int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messaging_processed_events WHERE consumer_group = $1`, cfg.Group).Scan(&markers); err != nil {
		t.Fatal(err)
	}
	if markers != total {
		t.Errorf("%d processed markers, want %d", markers, total)
	}
	// Offsets were committed: the group's position is at the end of each partition.
	checkCommittedAtEnd(t, s.brokers, cfg.Group, s.topic("order"))
}

func checkCommittedAtEnd(t *testing.T, brokers, group, topic string) {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": group})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var tps []kafka.TopicPartition
	for _, p := range md.Topics[topic].Partitions {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p.ID})
	}
	committed, err := c.Committed(tps, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range committed {
		_, high, err := c.QueryWatermarkOffsets(topic, tp.Partition, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if high > 0 && int64(tp.Offset) != high {
			t.Errorf("partition %d: committed %v, high watermark %d", tp.Partition, tp.Offset, high)
		}
	}
}

// TestConsumerPoisonMessages sends each kind of poison message to a
// one-partition topic between good ones: each lands in <topic>.dlq with its
// headers, the consumer goes on, a failing key does not hold up other keys,
// and later messages of the failing key wait for it.
func TestConsumerPoisonMessages(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	topic := s.prefix + "poison"
	createTopic(t, s.brokers, topic, 1)
	if _, err := s.pool.Exec(ctx, `CREATE TABLE seen (seq serial PRIMARY KEY, key text, customer text, attempt int)`); err != nil {
		t.Fatal(err)
	}

	placed := s.placedEncoder(t)
	good := placed("x")
	msgs := []struct {
		key, desc string
		value     []byte
	}{
		{"A", "handler fails always", placed("fail")},
		{"A", "after A's failure", placed("ok-A2")},
		{"B", "other key, not blocked", placed("ok-B")},
		{"C", "wrong magic byte", append([]byte{1}, good[1:]...)},
		{"C", "too short", []byte{0, 0, 1}},
		{"D", "unknown schema id", serde.AppendWire(nil, 0x7fff0000, good[5:])},
		{"E", "truncated Avro", good[:len(good)/2]},
		{"F", "good", placed("ok-F")},
		{"G", "flaky: fails twice", placed("flaky")},
	}
	var out []*kafka.Message
	for _, m := range msgs {
		out = append(out, &kafka.Message{Key: []byte(m.key), Value: m.value,
			Headers: []kafka.Header{{Key: "x-test", Value: []byte(m.desc)}}})
	}
	produceToPartition0(t, s.brokers, topic, out)

	var mu sync.Mutex
	failures := map[string]int{}
	r := messaging.NewRouter(s.types)
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, env messaging.Envelope, ev *order.OrderPlaced) error {
		if ev.CustomerID == "fail" || (ev.CustomerID == "flaky" && env.Attempt < 3) {
			mu.Lock()
			failures[ev.CustomerID]++
			mu.Unlock()
			return fmt.Errorf("refused %s (attempt %d)", ev.CustomerID, env.Attempt)
		}
		_, err := tx.Exec(ctx, `INSERT INTO seen (key, customer, attempt) VALUES ($1, $2, $3)`, env.Key, ev.CustomerID, env.Attempt)
		return err
	})
	m := messaging.NewMetrics()
	cfg := s.consumerConfig(testenv.UniqueName("g"), r, topic)
	cfg.MaxAttempts = 3
	cfg.Metrics = m
	cons, err := messaging.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, "consumer", cons.Run)
	dlq := readTopic(t, s.brokers, topic+messaging.DLQSuffix, 5, time.Minute)
	waitFor(t, 30*time.Second, "good messages", func() (bool, string) {
		var n int
		_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM seen`).Scan(&n)
		return n == 4, fmt.Sprintf("%d seen", n)
	})
	stop()

	// DLQ contents.
	wantKinds := map[string]messaging.PoisonKind{
		"ev-0": messaging.PoisonHandler, "ev-3": messaging.PoisonNotWireFormat, "ev-4": messaging.PoisonNotWireFormat,
		"ev-5": messaging.PoisonUnknownSchema, "ev-6": messaging.PoisonDecode,
	}
	if len(dlq) != len(wantKinds) {
		t.Fatalf("%d dead letters, want %d", len(dlq), len(wantKinds))
	}
	for _, d := range dlq {
		id := messaging.Header(d.Headers, messaging.HeaderEventID)
		kind, ok := wantKinds[id]
		if !ok {
			t.Errorf("unexpected dead letter %s", id)
			continue
		}
		i, _ := strconv.Atoi(id[3:])
		h := func(k string) string { return messaging.Header(d.Headers, k) }
		if got := h(messaging.HeaderDLQKind); got != string(kind) {
			t.Errorf("%s kind %q, want %q (error %q)", id, got, kind, h(messaging.HeaderDLQError))
		}
		if string(d.Key) != msgs[i].key || string(d.Value) != string(msgs[i].value) || h("x-test") != msgs[i].desc {
			t.Errorf("%s: original key, value or headers not kept", id)
		}
		if h(messaging.HeaderDLQOriginalTopic) != topic || h(messaging.HeaderDLQOriginalPartition) != "0" || h(messaging.HeaderDLQOriginalOffset) != strconv.Itoa(i) {
			t.Errorf("%s: origin %s[%s]@%s, want %s[0]@%d", id, h(messaging.HeaderDLQOriginalTopic),
				h(messaging.HeaderDLQOriginalPartition), h(messaging.HeaderDLQOriginalOffset), topic, i)
		}
		wantAttempts := "1"
		if kind == messaging.PoisonHandler {
			wantAttempts = "3"
		}
		if h(messaging.HeaderDLQAttempts) != wantAttempts {
			t.Errorf("%s attempts %s, want %s", id, h(messaging.HeaderDLQAttempts), wantAttempts)
		}
		first, err1 := time.Parse(time.RFC3339Nano, h(messaging.HeaderDLQFirstFailure))
		last, err2 := time.Parse(time.RFC3339Nano, h(messaging.HeaderDLQLastFailure))
		if err1 != nil || err2 != nil || last.Before(first) || (kind == messaging.PoisonHandler && !last.After(first)) {
			t.Errorf("%s: failure times %q..%q", id, h(messaging.HeaderDLQFirstFailure), h(messaging.HeaderDLQLastFailure))
		}
		if h(messaging.HeaderDLQError) == "" || h(messaging.HeaderDLQConsumerGroup) != cfg.Group {
			t.Errorf("%s: error %q, group %q", id, h(messaging.HeaderDLQError), h(messaging.HeaderDLQConsumerGroup))
		}
	}
	if failures["fail"] != 3 || failures["flaky"] != 2 {
		t.Errorf("handler failures %v, want fail:3 flaky:2", failures)
	}

	// Processing order: B and F did not wait for A's retries; A2 waited.
	rows, err := s.pool.Query(ctx, `SELECT customer, attempt FROM seen ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for rows.Next() {
		var c string
		var a int
		if err := rows.Scan(&c, &a); err != nil {
			t.Fatal(err)
		}
		order = append(order, c)
		if c == "flaky" && a != 3 {
			t.Errorf("flaky handled at attempt %d, want 3", a)
		}
	}
	pos := map[string]int{}
	for i, c := range order {
		pos[c] = i
	}
	if !(pos["ok-B"] < pos["ok-A2"] && pos["ok-F"] < pos["ok-A2"]) {
		t.Errorf("processing order %v: other keys should pass the retrying key A", order)
	}
	if n := counterValue(t, m.DLQ.WithLabelValues(cfg.Group, topic, string(messaging.PoisonNotWireFormat))); n != 2 {
		t.Errorf("dlq metric not-wire-format = %v, want 2", n)
	}
	if n := counterValue(t, m.Retries.WithLabelValues(cfg.Group, topic)); n != 4 {
		t.Errorf("retries metric = %v, want 4 (2 for fail, 2 for flaky)", n)
	}
	checkCommittedAtEnd(t, s.brokers, cfg.Group, topic)
}

// placedEncoder registers OrderPlaced's schema, as the relay would, and
// returns a function encoding an OrderPlaced of the given customer in the
// wire format with that schema's id.
func (s *stack) placedEncoder(t testing.TB) func(customer string) []byte {
	t.Helper()
	typ, _ := s.types.ByName("shop.order.OrderPlaced")
	if _, err := s.reg.CreateSchema(typ.Name, typ.JSON, srclient.Avro); err != nil {
		t.Fatal(err)
	}
	sch, err := s.reg.LookupSchema(typ.Name, typ.JSON, srclient.Avro)
	if err != nil {
		t.Fatal(err)
	}
	return func(customer string) []byte {
		ev := orderEvent(1, 1).(*order.OrderPlaced)
		ev.CustomerID = customer
		_, b, err := s.types.EncodeWire(nil, sch.ID(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// produceToPartition0 writes msgs, in order, to partition 0 of topic, the
// i-th with event id header "ev-<i>" added, and waits until all are written.
func produceToPartition0(t testing.TB, brokers, topic string, msgs []*kafka.Message) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "enable.idempotence": true, "go.delivery.reports": false})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, m := range msgs {
		m.TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: 0}
		m.Headers = append([]kafka.Header{{Key: messaging.HeaderEventID, Value: []byte("ev-" + strconv.Itoa(i))}}, m.Headers...)
		if err := p.Produce(m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Flush(30000); n != 0 {
		t.Fatalf("%d messages not flushed", n)
	}
}

func createTopic(t testing.TB, brokers, topic string, partitions int) {
	t.Helper()
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := a.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrTopicAlreadyExists {
			t.Fatalf("create topic %s: %v", topic, r.Error)
		}
	}
}
