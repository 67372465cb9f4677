package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/services/projector/service"
)

// TestProjectorLeavesItsGroupOnStop: when the projector stops, its consumer
// has left the group by the time Run returns, so a restarted projector is
// assigned at once instead of after the broker's session timeout (the
// demo, down, demo failure). It also reports ready only as a member.
func TestProjectorLeavesItsGroupOnStop(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	dbURL := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	prefix := testenv.UniqueName("lv") + "."
	group := prefix + "projector"
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	members := func() (int, string) {
		res, err := a.DescribeConsumerGroups(ctx, []string{group})
		if err != nil || len(res.ConsumerGroupDescriptions) != 1 {
			t.Fatalf("describe group %s: %v", group, err)
		}
		d := res.ConsumerGroupDescriptions[0]
		return len(d.Members), d.State.String()
	}

	pctx, stop := context.WithCancel(ctx)
	ready := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- service.Run(pctx, service.Config{
			DatabaseURL: dbURL, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, SchemaRegistryURL: testenv.SchemaRegistryURL(t),
			GRPCAddr: "127.0.0.1:0", Group: group, Topics: []string{prefix + "events.order"},
			Registry: observe.NewRegistry(), Ready: func(string, string) { ready <- struct{}{} },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("projector stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("projector not ready in 60s")
	}
	// Ready means a member holding its assignment (wait a little for the
	// coordinator's view when ready came too early, as before the fix).
	deadline := time.Now().Add(20 * time.Second)
	for n, state := members(); n != 1; n, state = members() {
		if time.Now().After(deadline) {
			t.Fatalf("group %s: %d members (%s) after ready, want 1", group, n, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("projector: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("projector did not stop in 60s")
	}
	if n, state := members(); n != 0 {
		t.Fatalf("group %s still has %d member(s) (%s) after the projector stopped: a restart waits for the session timeout", group, n, state)
	}
}
