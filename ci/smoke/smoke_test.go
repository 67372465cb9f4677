// Package smoke proves the local stack (`make up`) for real: a row through
// PostgreSQL with pgx, messages through Kafka with confluent-kafka-go, a schema
// through the registry with srclient, and an Avro record in the Confluent wire
// format end to end. A missing server skips locally and fails when CI is set.
package smoke

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
)

func TestPostgresRoundTrip(t *testing.T) {
	url := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)

	if _, err := conn.Exec(ctx, `CREATE TABLE smoke (id bigint PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL)`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO smoke (id, body, at) VALUES ($1, $2, $3)`, 7, "héllo", at); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var body string
	var got time.Time
	if err := conn.QueryRow(ctx, `SELECT body, at FROM smoke WHERE id = $1`, 7).Scan(&body, &got); err != nil {
		t.Fatalf("select: %v", err)
	}
	if body != "héllo" || !got.Equal(at) {
		t.Fatalf("read back (%q, %v), want (%q, %v)", body, got, "héllo", at)
	}

	// The settings the stack promises (benchmarks and the relay rely on them).
	for name, want := range map[string]string{"fsync": "on", "wal_level": "replica", "max_connections": "300"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatalf("current_setting(%s): %v", name, err)
		}
		if v != want {
			t.Errorf("%s = %s, want %s", name, v, want)
		}
	}
}

// newTopic creates a topic with one partition and deletes it when the test ends.
func newTopic(t *testing.T, brokers string) string {
	t.Helper()
	topic := testenv.UniqueName("smoke.")
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.DeleteTopics(ctx, []string{topic}); err != nil {
			t.Logf("delete topic %s: %v", topic, err)
		}
		admin.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			t.Fatalf("create topic %s: %v", topic, r.Error)
		}
	}
	return topic
}

// produce sends the messages with an idempotent producer and waits for every
// delivery report.
func produce(t *testing.T, brokers, topic string, msgs ...kafka.Message) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  brokers,
		"enable.idempotence": true,
		"acks":               "all",
	})
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	reports := make(chan kafka.Event, len(msgs))
	for i := range msgs {
		m := msgs[i]
		m.TopicPartition = kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}
		if err := p.Produce(&m, reports); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	timeout := time.After(30 * time.Second)
	for i := range msgs {
		select {
		case e := <-reports:
			m, ok := e.(*kafka.Message)
			if !ok {
				t.Fatalf("delivery report %d: unexpected event %v", i, e)
			}
			if m.TopicPartition.Error != nil {
				t.Fatalf("delivery report %d: %v", i, m.TopicPartition.Error)
			}
		case <-timeout:
			t.Fatalf("no delivery report for message %d within 30s", i)
		}
	}
}

// consume reads n messages from the start of topic with a fresh consumer group.
func consume(t *testing.T, brokers, topic string, n int) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  brokers,
		"group.id":           testenv.UniqueName("smoke-"),
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	var got []*kafka.Message
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("read %s: %v", topic, err)
		}
		got = append(got, m)
	}
	if len(got) < n {
		t.Fatalf("read %d of %d messages from %s within 60s", len(got), n, topic)
	}
	return got
}

func TestKafkaProduceConsume(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := newTopic(t, brokers)
	var sent []kafka.Message
	for i := range 3 {
		sent = append(sent, kafka.Message{
			Key:     []byte("stream-1"),
			Value:   []byte(fmt.Sprintf("event %d", i)),
			Headers: []kafka.Header{{Key: "event-id", Value: []byte(fmt.Sprint(i))}},
		})
	}
	produce(t, brokers, topic, sent...)
	got := consume(t, brokers, topic, len(sent))
	for i, m := range got {
		if string(m.Key) != "stream-1" || string(m.Value) != string(sent[i].Value) {
			t.Errorf("message %d = (%s, %s), want (stream-1, %s)", i, m.Key, m.Value, sent[i].Value)
		}
		if len(m.Headers) != 1 || string(m.Headers[0].Value) != fmt.Sprint(i) {
			t.Errorf("message %d headers = %v, want event-id=%d", i, m.Headers, i)
		}
	}
}

const smokeSchema = `{"type":"record","name":"SmokeTested","namespace":"strata.smoke","fields":[{"name":"id","type":"string"},{"name":"n","type":"long"}]}`

func TestSchemaRegistryRegisterFetch(t *testing.T) {
	url := testenv.SchemaRegistryURL(t)
	client := testenv.RegistryClient(t, url)
	client.CodecCreationEnabled(true) // this test decodes with srclient's goavro codecs
	client.CachingEnabled(false)
	subject := testenv.UniqueName("smoke-") + "-value"

	created, err := client.CreateSchema(subject, smokeSchema, srclient.Avro)
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	t.Cleanup(func() {
		// srclient soft-deletes, then hard-deletes (?permanent=true).
		if err := client.DeleteSubject(subject, true); err != nil {
			t.Errorf("delete %s: %v", subject, err)
		}
	})
	if created.ID() <= 0 {
		t.Fatalf("register %s: id %d", subject, created.ID())
	}
	again, err := client.CreateSchema(subject, smokeSchema, srclient.Avro)
	if err != nil {
		t.Fatalf("register %s again: %v", subject, err)
	}
	if again.ID() != created.ID() {
		t.Errorf("registering the same schema twice gave ids %d and %d", created.ID(), again.ID())
	}

	latest, err := client.GetLatestSchema(subject)
	if err != nil {
		t.Fatalf("latest %s: %v", subject, err)
	}
	if latest.ID() != created.ID() || latest.Version() != 1 {
		t.Errorf("latest %s = id %d version %d, want id %d version 1", subject, latest.ID(), latest.Version(), created.ID())
	}
	byID, err := client.GetSchema(created.ID())
	if err != nil {
		t.Fatalf("schema %d: %v", created.ID(), err)
	}
	if byID.Codec() == nil {
		t.Fatalf("schema %d: no Avro codec for %s", created.ID(), byID.Schema())
	}
	if got, want := byID.Codec().CanonicalSchema(), latest.Codec().CanonicalSchema(); got != want {
		t.Errorf("schema by id %s differs from latest %s", got, want)
	}
}

// TestAvroThroughKafka registers a schema, produces an Avro record in the
// Confluent wire format (magic 0, schema id, Avro binary) and decodes it on the
// consumer side by looking the writer schema up by id: what the relay and the
// projector do.
func TestAvroThroughKafka(t *testing.T) {
	url := testenv.SchemaRegistryURL(t)
	brokers := testenv.KafkaBrokers(t)
	client := testenv.RegistryClient(t, url)
	client.CodecCreationEnabled(true) // this test decodes with srclient's goavro codecs
	topic := newTopic(t, brokers)
	subject := topic + "-value"
	schema, err := client.CreateSchema(subject, smokeSchema, srclient.Avro)
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	t.Cleanup(func() {
		if err := client.DeleteSubject(subject, true); err != nil {
			t.Errorf("delete %s: %v", subject, err)
		}
	})

	payload, err := schema.Codec().BinaryFromNative(nil, map[string]any{"id": "order-42", "n": int64(42)})
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	wire := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(wire[1:], uint32(schema.ID()))
	wire = append(wire, payload...)
	produce(t, brokers, topic, kafka.Message{Key: []byte("order-42"), Value: wire})

	m := consume(t, brokers, topic, 1)[0]
	if len(m.Value) < 5 || m.Value[0] != 0 {
		t.Fatalf("not Confluent wire format: % x", m.Value)
	}
	id := int(binary.BigEndian.Uint32(m.Value[1:5]))
	reader := testenv.RegistryClient(t, url)
	reader.CodecCreationEnabled(true)
	writer, err := reader.GetSchema(id)
	if err != nil {
		t.Fatalf("writer schema %d: %v", id, err)
	}
	native, _, err := writer.Codec().NativeFromBinary(m.Value[5:])
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	rec, ok := native.(map[string]any)
	if !ok || rec["id"] != "order-42" || rec["n"] != int64(42) {
		t.Fatalf("decoded %#v, want id=order-42 n=42", native)
	}
}
