package messaging_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

// TestConsumerRebalance runs a second consumer into the group while events
// flow, then stops the first: partitions move twice, processed offsets are
// committed on revoke, and the read model still equals the rebuild (the
// handler rejects any out-of-order version) with nothing dead-lettered.
func TestConsumerRebalance(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := s.pool.Exec(ctx, viewDDL); err != nil {
		t.Fatal(err)
	}
	createTopic(t, s.brokers, s.topic("order"), 3)
	relay, err := messaging.NewRelay(s.relayConfig("rb"))
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, "relay", relay.Run)

	group := testenv.UniqueName("g")
	m1, m2 := messaging.NewMetrics(), messaging.NewMetrics()
	newConsumer := func(m *messaging.Metrics) *messaging.Consumer {
		cfg := s.consumerConfig(group, viewRouter(t, s.types), s.topic("order"))
		cfg.Metrics = m
		cfg.MaxAttempts = 3
		c, err := messaging.NewConsumer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	stop1 := runInBackground(t, "consumer 1", newConsumer(m1).Run)
	s.appendOrders(t, ctx, 0, 30, 1, 3)
	runInBackground(t, "consumer 2", newConsumer(m2).Run) // rebalance: 3 partitions over 2 members
	s.appendOrders(t, ctx, 0, 30, 4, 6)
	time.Sleep(2 * time.Second)
	stop1() // rebalance: everything to consumer 2
	s.appendOrders(t, ctx, 0, 30, 7, 8)

	waitFor(t, 2*time.Minute, "read model equals the rebuild", func() (bool, string) {
		// Rebuilt on every poll until it has every append: ReadAll is
		// commit-safe, so while the consumer's own transactions are in
		// flight it leaves out the newest events, and a single rebuild taken
		// then can stay behind the read model for good.
		want := s.rebuildView(t, ctx)
		got := loadView(t, ctx, s.pool)
		return viewComplete(want, 30, 8) && reflect.DeepEqual(got, want), fmt.Sprintf("%d of %d orders", len(got), len(want))
	})
	handled := func(m *messaging.Metrics) float64 {
		return counterValue(t, m.Handled.WithLabelValues(group, s.topic("order"), "handled"))
	}
	h1, h2 := handled(m1), handled(m2)
	if h1 == 0 || h2 == 0 || int(h1+h2) != 30*8 {
		t.Errorf("handled %v by consumer 1 and %v by consumer 2, want both > 0 and %d in all", h1, h2, 30*8)
	}
	if seriesCount(m1.DLQ)+seriesCount(m2.DLQ) != 0 {
		t.Error("messages were dead-lettered during rebalances")
	}
	t.Logf("consumer 1 applied %v, consumer 2 applied %v; duplicates skipped: %v", h1, h2,
		counterValue(t, m1.Handled.WithLabelValues(group, s.topic("order"), "duplicate"))+
			counterValue(t, m2.Handled.WithLabelValues(group, s.topic("order"), "duplicate")))
}
