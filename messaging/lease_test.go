package messaging_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stratahq/strata/messaging"
)

// TestRelayLeaseTakeover runs two relays with one name: only one produces;
// when it stops, the other takes over from the checkpoint.
func TestRelayLeaseTakeover(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var mu sync.Mutex
	leaders := map[string]int{} // relay -> progress reports as leader
	newRelay := func(id string) *messaging.Relay {
		cfg := s.relayConfig("shared")
		cfg.LeaseRetry = 100 * time.Millisecond
		cfg.ProgressEvery = 50 * time.Millisecond
		cfg.Progress = func(p messaging.RelayProgress) {
			if p.Leader {
				mu.Lock()
				leaders[id]++
				mu.Unlock()
			}
		}
		r, err := messaging.NewRelay(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	stopA := runInBackground(t, "relay a", newRelay("a").Run)
	time.Sleep(500 * time.Millisecond) // a takes the lease first
	runInBackground(t, "relay b", newRelay("b").Run)

	n := s.appendOrders(t, ctx, 0, 10, 1, 2)
	readTopic(t, s.brokers, s.topic("order"), n, time.Minute)
	mu.Lock()
	if leaders["a"] == 0 || leaders["b"] != 0 {
		t.Errorf("leaders while a runs: %v, want only a", leaders)
	}
	mu.Unlock()

	stopA()
	n += s.appendOrders(t, ctx, 0, 10, 3, 4)
	msgs := readTopic(t, s.brokers, s.topic("order"), n, time.Minute)
	mu.Lock()
	if leaders["b"] == 0 {
		t.Errorf("b never led after a stopped: %v", leaders)
	}
	mu.Unlock()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[messaging.Header(m.Headers, messaging.HeaderEventID)]++
	}
	if len(ids) != n || len(msgs) != n {
		t.Errorf("%d messages, %d distinct, want %d of each (graceful handover duplicates nothing)", len(msgs), len(ids), n)
	}
}
