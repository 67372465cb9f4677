package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/hamba/avro/v2"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

// TestDLQListShowReplay puts three dead letters in a dead-letter topic and
// drives `strata dlq` over them: list (with --key), show (payload decoded
// through the registry), replay to the original topic, and a second replay
// of the same group that replays nothing.
func TestDLQListShowReplay(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	regURL := testenv.SchemaRegistryURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := testenv.UniqueName("dlqcli.")
	dlq := topic + messaging.DLQSuffix

	const schemaJSON = `{"type":"record","name":"Thing","namespace":"cli.dlqtest","fields":[{"name":"a","type":"string"}]}`
	reg := testenv.RegistryClient(t, regURL)
	if _, err := reg.CreateSchema("cli.dlqtest.Thing", schemaJSON, srclient.Avro); err != nil {
		t.Fatal(err)
	}
	sc, err := reg.LookupSchema("cli.dlqtest.Thing", schemaJSON, srclient.Avro)
	if err != nil {
		t.Fatal(err)
	}
	schema := avro.MustParse(schemaJSON)
	body, err := avro.Marshal(schema, map[string]any{"a": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	value := serde.AppendWire(nil, sc.ID(), body)

	produceDeadLetters(ctx, t, brokers, dlq, topic, value, "k1", "k2", "k1")

	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Run(ctx, append([]string{"dlq"}, append(args, "--brokers", brokers, "--registry", regURL)...), nil, &out, &errb)
		return out.String(), errb.String(), code
	}
	lines := func(s string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not JSON: %q", l)
			}
			out = append(out, m)
		}
		return out
	}

	out, errs, code := run("list", "--topic", topic)
	if code != ExitOK || len(lines(out)) != 3 {
		t.Fatalf("list: exit %d, %d lines: %s %s", code, len(lines(out)), out, errs)
	}
	if l := lines(out)[0]; l["kind"] != "handler" || l["attempts"] != float64(5) || l["key"] != "k1" {
		t.Errorf("list line: %v", l)
	}
	out, _, _ = run("list", "--topic", dlq, "--key", "k1")
	if n := len(lines(out)); n != 2 {
		t.Errorf("list --key k1: %d lines, want 2", n)
	}
	out, _, _ = run("list", "--topic", dlq, "--since", "2h")
	if n := len(lines(out)); n != 3 {
		t.Errorf("list --since 2h: %d lines, want 3", n)
	}

	out, errs, code = run("show", "--topic", dlq, "--partition", "0", "--offset", "1")
	if code != ExitOK {
		t.Fatalf("show: exit %d: %s", code, errs)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show output %q: %v", out, err)
	}
	if pl, _ := shown["payload"].(map[string]any); pl["a"] != "hello" || shown["event_type"] != "cli.dlqtest.Thing" || shown["key"] != "k2" {
		t.Errorf("show: %v", shown)
	}

	group := testenv.UniqueName("replay-")
	out, errs, code = run("replay", "--topic", dlq, "--group", group, "--key", "k1")
	if code != ExitOK || len(lines(out)) != 2 || !strings.Contains(errs, "2 replayed, 1 passed over") {
		t.Fatalf("replay: exit %d: %s %s", code, out, errs)
	}
	// The original topic now has the two k1 messages, without dlq-* headers.
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": testenv.UniqueName("chk"), "auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var got []*kafka.Message
	for deadline := time.Now().Add(30 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		if m, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			got = append(got, m)
		}
	}
	if len(got) != 2 {
		t.Fatalf("original topic has %d replayed messages, want 2", len(got))
	}
	for _, m := range got {
		if string(m.Key) != "k1" || !bytes.Equal(m.Value, value) || messaging.Header(m.Headers, messaging.HeaderDLQKind) != "" ||
			messaging.Header(m.Headers, "dlq-replayed-from") == "" || messaging.Header(m.Headers, messaging.HeaderEventID) == "" {
			t.Errorf("replayed message: key %s headers %v", m.Key, m.Headers)
		}
	}
	_, errs, code = run("replay", "--topic", dlq, "--group", group)
	if code != ExitOK || !strings.Contains(errs, "0 replayed") {
		t.Errorf("second replay: exit %d: %s", code, errs)
	}
}

// produceDeadLetters writes one dead letter per key to dlq, as the consumer
// runtime does (dlq-* headers naming the original topic).
func produceDeadLetters(ctx context.Context, t *testing.T, brokers, dlq, topic string, value []byte, keys ...string) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: dlq, NumPartitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "go.delivery.reports": false})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i, key := range keys {
		hs := []kafka.Header{
			{Key: messaging.HeaderEventID, Value: []byte("ev" + string(rune('0'+i)))},
			{Key: messaging.HeaderDLQKind, Value: []byte("handler")},
			{Key: messaging.HeaderDLQError, Value: []byte("boom")},
			{Key: messaging.HeaderDLQAttempts, Value: []byte("5")},
			{Key: messaging.HeaderDLQOriginalTopic, Value: []byte(topic)},
			{Key: messaging.HeaderDLQOriginalPartition, Value: []byte("0")},
			{Key: messaging.HeaderDLQOriginalOffset, Value: []byte("7")},
			{Key: messaging.HeaderDLQFirstFailure, Value: []byte(now)},
			{Key: messaging.HeaderDLQLastFailure, Value: []byte(now)},
		}
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &dlq, Partition: 0},
			Key: []byte(key), Value: value, Headers: hs}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Flush(30000); n != 0 {
		t.Fatalf("%d unflushed", n)
	}
	p.Close()
}
