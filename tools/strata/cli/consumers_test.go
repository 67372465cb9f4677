package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/tools/strata/cli/consumers"
)

// Five messages on a one-partition topic, a group that committed offset 3:
// consumers lag reports committed 3, high watermark 5, lag 2; --max-lag 1
// fails; a dead-letter topic's size is listed.
func TestConsumersLag(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.UniqueName("lag") + "."
	topic, dlq, group := prefix+"events.order", prefix+"events.order.dlq", prefix+"projector"
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := t.Context()
	if _, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1},
		{Topic: dlq, NumPartitions: 1, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dr := make(chan kafka.Event, 6)
	for i := range 6 {
		tp := topic
		if i == 5 {
			tp = dlq
		}
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &tp, Partition: 0}, Value: []byte(fmt.Sprint(i))}, dr); err != nil {
			t.Fatal(err)
		}
	}
	for range 6 {
		select {
		case e := <-dr:
			if m, ok := e.(*kafka.Message); !ok || m.TopicPartition.Error != nil {
				t.Fatalf("delivery: %v", e)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery report")
		}
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": false})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CommitOffsets([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: 3}}); err != nil {
		t.Fatal(err)
	}

	var rows []consumers.LagRow
	var dlqs []consumers.DLQRow
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut := run(t, "consumers", "lag", "--group", group, "--topic-prefix", prefix, "--json", "--brokers", brokers)
		if code != ExitOK {
			t.Fatalf("consumers lag: exit %d %s", code, errOut)
		}
		rows, dlqs = nil, nil
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, `"group"`) {
				var r consumers.LagRow
				_ = json.Unmarshal([]byte(line), &r)
				rows = append(rows, r)
			} else if line != "" {
				var d consumers.DLQRow
				_ = json.Unmarshal([]byte(line), &d)
				dlqs = append(dlqs, d)
			}
		}
		if len(rows) == 1 && rows[0].High == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != 1 || rows[0] != (consumers.LagRow{Group: group, Topic: topic, Partition: 0, Committed: 3, High: 5, Lag: 2}) {
		t.Fatalf("lag rows = %+v", rows)
	}
	if len(dlqs) != 1 || dlqs[0] != (consumers.DLQRow{Topic: dlq, Partition: 0, Messages: 1}) {
		t.Fatalf("dlq rows = %+v", dlqs)
	}
	code, out, errOut := run(t, "consumers", "lag", "--group", group, "--topic-prefix", prefix, "--max-lag", "1", "--brokers", brokers)
	if code != ExitFail || !strings.Contains(out, "LAG") || !strings.Contains(errOut, "lag more than 1") {
		t.Fatalf("--max-lag 1: exit %d\n%s\n%s", code, out, errOut)
	}
}
