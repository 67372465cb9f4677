package consumers

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// Two groups consuming one topic (the projector and the saga both read
// events.order): one row per group and partition, each with the partition's
// high watermark.
func TestConsumerLagTwoGroupsOneTopic(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueName("lag2") + "."
	topic := prefix + "events.order"
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := t.Context()
	if _, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	groups := []string{prefix + "a", prefix + "b"}
	for i, g := range groups {
		c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": g, "enable.auto.commit": false})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CommitOffsets([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.Offset(i)}}); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, _, err := ConsumerLag(ctx, messaging.KafkaConfig{"bootstrap.servers": brokers}, groups, prefix)
		if err != nil {
			t.Fatalf("ConsumerLag: %v", err)
		}
		if len(rows) == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows = %+v, want one per group", rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
