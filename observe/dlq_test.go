package observe_test

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
)

// Three dead letters, the replay group past the first: size 3, unreplayed 2;
// a topic whose DLQ does not exist reports 0.
func TestDLQSizeCollector(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueName("dlqm") + "."
	topic := prefix + "events.order"
	dlq := topic + messaging.DLQSuffix
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.CreateTopics(t.Context(), []kafka.TopicSpecification{{Topic: dlq, NumPartitions: 2, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dr := make(chan kafka.Event, 3)
	for i := range 3 {
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &dlq, Partition: int32(i % 2)}, Value: []byte("x")}, dr); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		select {
		case e := <-dr:
			if m, ok := e.(*kafka.Message); !ok || m.TopicPartition.Error != nil {
				t.Fatalf("delivery: %v", e)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery report")
		}
	}
	group := prefix + "replay"
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": group})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitOffsets([]kafka.TopicPartition{{Topic: &dlq, Partition: 0, Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	c.Close()

	col := observe.NewDLQSizeCollector(messaging.KafkaConfig{"bootstrap.servers": brokers}, []string{topic, prefix + "events.none"}, group)
	defer col.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	size, open := gauge(t, reg, "strata_messaging_dlq_messages", dlq), gauge(t, reg, "strata_messaging_dlq_unreplayed", dlq)
	if none := gauge(t, reg, "strata_messaging_dlq_messages", prefix+"events.none.dlq"); none != 0 {
		t.Fatalf("missing topic: %v", none)
	}
	if size != 3 || open != 2 {
		t.Fatalf("dlq messages %v unreplayed %v, want 3 and 2", size, open)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name, topic string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{topic=%q}", name, topic)
	return 0
}
