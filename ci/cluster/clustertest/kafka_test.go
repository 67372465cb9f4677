//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Load shape of the Kafka fault tests: n orders (2 events each) at rate
// orders per second with a few concurrent clients.
const (
	loadOrders  = 240
	loadRate    = 8
	loadWorkers = 4
)

// describe returns partition -> (leader, ISR) of a topic from the admin
// client's metadata (a Metadata request to any live broker).
func describe(c *cluster, topic string) (map[int]int, map[int][]int, error) {
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.brokers})
	if err != nil {
		return nil, nil, err
	}
	defer a.Close()
	return describeWith(a, topic, 15*time.Second)
}

func describeWith(a *kafka.AdminClient, topic string, timeout time.Duration) (map[int]int, map[int][]int, error) {
	md, err := a.GetMetadata(&topic, false, int(timeout.Milliseconds()))
	if err != nil {
		return nil, nil, err
	}
	tm, ok := md.Topics[topic]
	if !ok {
		return nil, nil, fmt.Errorf("metadata of %s: topic missing", topic)
	}
	if tm.Error.Code() != kafka.ErrNoError {
		return nil, nil, fmt.Errorf("metadata of %s: %w", topic, tm.Error)
	}
	leaders, isrs := map[int]int{}, map[int][]int{}
	for _, p := range tm.Partitions {
		leaders[int(p.ID)] = int(p.Leader)
		for _, n := range p.Isrs {
			isrs[int(p.ID)] = append(isrs[int(p.ID)], int(n))
		}
	}
	return leaders, isrs, nil
}

// waitFullISR waits until every partition of topic has 3 in-sync replicas
// (the restarted broker caught up) and returns how long that took.
func waitFullISR(t *testing.T, c *cluster, topic string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, isrs, err := describe(c, topic)
		full := err == nil && len(isrs) > 0
		for _, isr := range isrs {
			full = full && len(isr) == 3
		}
		if full {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: ISR %v (%v) after %v, want 3 replicas in sync everywhere", topic, isrs, err, within)
		}
		time.Sleep(time.Second)
	}
}

// faultUnderLoad runs the steady order load, SIGKILLs the node victim()
// names a quarter of the way in, restarts it half way, and checks that
// nothing was lost, duplicated in effect or reordered.
// victim may return a check, called once the load is over; it must not
// block the load (start its work in a goroutine).
func faultUnderLoad(t *testing.T, victim func(t *testing.T, c *cluster, s *shop) (string, func())) {
	c := needCluster(t, false)
	c.ensureUp(t)
	if out, err := c.script(context.Background(), "up", "kafka-1", "kafka-2", "kafka-3"); err != nil {
		t.Fatalf("cluster not up before the test: %v\n%s", err, out)
	}
	s := startShop(t, c, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	topic := s.prefix + "events.order"

	var node string
	var check func()
	var killedAt time.Time
	restarted := make(chan error, 1)
	var restartTook time.Duration
	res := load(t, ctx, s, loadOrders, loadRate, loadWorkers, func(i int) {
		switch i {
		case loadOrders / 4:
			node, check = victim(t, c, s)
			pid := c.kill(t, node)
			killedAt = time.Now()
			t.Logf("order %d: SIGKILL %s (pid %d); relay had delivered %d events", i, node, pid, s.delivered.Load())
		case loadOrders / 2:
			t.Logf("order %d: restarting %s (down %v); relay delivered %d events", i, node, time.Since(killedAt).Round(time.Millisecond), s.delivered.Load())
			go func() {
				start := time.Now()
				out, err := c.script(ctx, "up", node)
				restartTook = time.Since(start)
				if err != nil {
					err = fmt.Errorf("%w\n%s", err, out)
				}
				restarted <- err
			}()
		}
	})
	t.Logf("load: %d orders (%d commands) in %v, every command succeeded", loadOrders, 2*loadOrders, res.took.Round(time.Millisecond))
	t.Logf("relay: longest wait for an acknowledgement %v (the partitions %s led were unavailable until their leadership moved)",
		time.Duration(s.maxAckGap.Load()).Round(time.Millisecond), node)
	if check != nil {
		check()
	}
	select {
	case err := <-restarted:
		if err != nil {
			t.Fatalf("restart %s: %v", node, err)
		}
		t.Logf("%s answered again %v after the restart began", node, restartTook.Round(time.Millisecond))
	case <-time.After(5 * time.Minute):
		t.Fatalf("%s did not come back within 5 minutes", node)
	}
	ids := append(res.ids, s.warm.ids...)
	catchup := waitReadModel(t, ctx, s, len(ids), 4*time.Minute)
	t.Logf("read model complete %v after the load ended", catchup.Round(time.Millisecond))
	verifyEffect(t, ctx, s, c, ids)
	msgs, dups := verifyTopic(t, c, s, ids)
	t.Logf("topic %s: %d messages for %d events, %d redelivered duplicates (absorbed by the projection), per-key order kept", topic, msgs, 2*len(ids), dups)
	isr := waitFullISR(t, c, topic, 3*time.Minute)
	leaders, isrs, _ := describe(c, topic)
	t.Logf("after the restart: leaders %v, ISR %v (full %v after the read model caught up)", leaders, isrs, isr.Round(time.Millisecond))
}

// The broker that coordinates the projector's consumer group is SIGKILLed
// under a steady order load and brought back: the group moves to another
// coordinator, and the partitions the broker led move to other replicas.
func TestBrokerKilledUnderLoad(t *testing.T) {
	faultUnderLoad(t, func(t *testing.T, c *cluster, s *shop) (string, func()) {
		a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.brokers})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		r, err := a.DescribeConsumerGroups(ctx, []string{s.prefix + "projector"})
		if err != nil || len(r.ConsumerGroupDescriptions) != 1 || r.ConsumerGroupDescriptions[0].Error.Code() != kafka.ErrNoError {
			t.Fatalf("describe the projector's group: %v %+v", err, r)
		}
		id := r.ConsumerGroupDescriptions[0].Coordinator.ID
		leaders, _, _ := describe(c, s.prefix+"events.order")
		t.Logf("group %sprojector: coordinator broker %d; events.order leaders %v", s.prefix, id, leaders)
		return fmt.Sprintf("kafka-%d", id), nil
	})
}

// The leader of partition 0 of events.order is SIGKILLed mid-batch; the
// partition moves to another in-sync replica and producing and consuming go on.
func TestPartitionLeaderKilledUnderLoad(t *testing.T) {
	faultUnderLoad(t, func(t *testing.T, c *cluster, s *shop) (string, func()) {
		topic := s.prefix + "events.order"
		deadline := time.Now().Add(60 * time.Second)
		for {
			leaders, isrs, err := describe(c, topic)
			if err == nil && leaders[0] > 0 {
				t.Logf("%s partition 0: leader %d, ISR %v; all leaders %v", topic, leaders[0], isrs[0], leaders)
				old := leaders[0]
				// Watch for the new leader from the kill on, beside the load.
				a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.brokers})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := describeWith(a, topic, 15*time.Second); err != nil { // connected before the kill
					t.Fatal(err)
				}
				found := make(chan string, 1)
				go func() { defer a.Close(); found <- newLeader(a, topic, old) }()
				return fmt.Sprintf("kafka-%d", old), func() {
					if msg := <-found; msg != "" {
						t.Log(msg)
					} else {
						t.Fatalf("%s partition 0: no leader other than broker %d within 60s of the kill", topic, old)
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no leader for %s partition 0: %v %v", topic, leaders, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// newLeader polls (bounded, 60s) until partition 0 has a leader other than
// old and describes it; "" when none came.
func newLeader(a *kafka.AdminClient, topic string, old int) string {
	start := time.Now()
	var errs int
	for time.Since(start) < 60*time.Second {
		leaders, isrs, err := describeWith(a, topic, 3*time.Second)
		if err != nil {
			errs++
		}
		if err == nil && leaders[0] > 0 && leaders[0] != old {
			return fmt.Sprintf("%s partition 0: leader %d (ISR %v) seen %v after broker %d was killed (%d metadata requests failed meanwhile)",
				topic, leaders[0], isrs[0], time.Since(start).Round(100*time.Millisecond), old, errs)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return ""
}
