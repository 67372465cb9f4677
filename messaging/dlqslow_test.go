package messaging_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// TestConsumerSlowDeadLetterWriteKeepsPartitionGoing: the dead-letter
// producer holds its write for 20 s before sending it (linger.ms, a producer
// property the consumer ignores; Kafka 4 caps a topic's min.insync.replicas at
// its replication factor, so a one-broker stack cannot refuse acks=all).
// While one key's poison message waits for that write, the other keys of the
// same partition must still be handled within seconds, not after the write
// completes. Issue 14.
func TestConsumerSlowDeadLetterWriteKeepsPartitionGoing(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := s.prefix + "dlqslow"
	createTopic(t, s.brokers, topic, 1)
	createTopic(t, s.brokers, topic+messaging.DLQSuffix, 1)
	if _, err := s.pool.Exec(ctx, `CREATE TABLE seen (seq serial PRIMARY KEY, key text)`); err != nil {
		t.Fatal(err)
	}

	good := s.placedEncoder(t)("x")
	poison := append([]byte{1}, good[1:]...) // wrong magic byte: dead-lettered at once
	// K0 first (marks the moment the partition is flowing), then the poison
	// message of key P, then the other keys behind it on the same partition.
	var msgs []*kafka.Message
	for _, k := range []string{"K0", "P", "K1", "K2", "K3", "K4"} {
		v := good
		if k == "P" {
			v = poison
		}
		msgs = append(msgs, &kafka.Message{Key: []byte(k), Value: v})
	}
	produceToPartition0(t, s.brokers, topic, msgs)

	r := messaging.NewRouter(s.types)
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, env messaging.Envelope, _ *order.OrderPlaced) error {
		_, err := tx.Exec(ctx, `INSERT INTO seen (key) VALUES ($1)`, env.Key)
		return err
	})
	m := messaging.NewMetrics()
	cfg := s.consumerConfig(testenv.UniqueName("g"), r, topic)
	cfg.Metrics = m
	cfg.Kafka["linger.ms"] = "20000" // the dead-letter write completes after 20 s
	cfg.ShutdownTimeout = time.Second
	cons, err := messaging.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, "consumer", cons.Run)
	defer stop()

	count := func() int {
		var n int
		_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM seen`).Scan(&n)
		return n
	}
	waitFor(t, 60*time.Second, "K0 handled (consumer assigned and flowing)", func() (bool, string) {
		n := count()
		return n >= 1, fmt.Sprintf("%d seen", n)
	})
	// The poison message is next: its dead-letter write completes after
	// 20 s. The four keys behind it must not wait for it.
	waitFor(t, 5*time.Second, "K1..K4 handled while P's dead-letter write is slow", func() (bool, string) {
		n := count()
		return n == 5, fmt.Sprintf("%d of 5 seen", n)
	})
	if n := counterValue(t, m.DLQ.WithLabelValues(cfg.Group, topic, string(messaging.PoisonNotWireFormat))); n != 0 {
		t.Fatalf("dead-letter metric %v: the write completed, so this test did not hold it slow", n)
	}
}
