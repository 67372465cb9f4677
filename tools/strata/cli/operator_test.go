package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/tools/strata/cli/consumers"
)

// history is a store and Kafka topics with what operators meet after a few
// runs of the shop: two runs of concurrent writers, each relayed to Kafka by
// its own `strata relay` run, two consumer groups on the same topic at
// different positions, and dead letters.
type history struct {
	dbURL, brokers, regURL string
	store                  *eventstore.Store
	types                  *serde.Registry
	prefix, topic, dlq     string
	groups                 [2]string
	partitions             []int32
	highs                  map[int32]int64
	events                 int
}

func newHistory(t *testing.T) *history {
	t.Helper()
	t.Setenv("RELAY_METRICS_ADDR", "")
	h := &history{dbURL: testenv.NewDatabase(t), brokers: testenv.KafkaBrokers(t), regURL: testenv.SchemaRegistryURL(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if h.store, err = eventstore.New(pool, eventstore.Config{}); err != nil {
		t.Fatal(err)
	}
	if h.types, err = serde.NewRegistry(events.Types()...); err != nil {
		t.Fatal(err)
	}
	h.prefix = testenv.UniqueName("ops") + "."
	h.topic = h.prefix + "events.order"
	h.dlq = h.topic + messaging.DLQSuffix
	for run := 1; run <= 2; run++ {
		n := h.appendRun(ctx, t, run, 4, 6) // 4 writers x 6 orders x 2 events
		h.relay(ctx, t, n)
	}
	h.groups = [2]string{testenv.UniqueName("ops-projector"), testenv.UniqueName("ops-audit")}
	h.commitGroups(ctx, t)
	produceDeadLetters(ctx, t, h.brokers, h.dlq, h.topic, []byte("not avro"), "o-1-0-0", "o-2-1-1")
	return h
}

// appendRun appends, from writers goroutines, orders placed then cancelled
// (two events, one transaction each), and returns how many events it wrote.
func (h *history) appendRun(ctx context.Context, t *testing.T, run, writers, orders int) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range orders {
				if err := h.appendOrder(ctx, fmt.Sprintf("o-%d-%d-%d", run, w, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h.events += writers * orders * 2
	return writers * orders * 2
}

func (h *history) appendOrder(ctx context.Context, id string) error {
	at := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	var data []eventstore.EventData
	for _, ev := range []any{
		&order.OrderPlaced{OrderID: id, CustomerID: "c", Currency: "KRW", ShippingMethod: "STANDARD", TotalAmount: 100,
			Items: []order.OrderItem{{ProductID: "p", Quantity: 1, UnitPrice: 100}}, PlacedAt: at},
		&order.OrderCancelled{OrderID: id, Reason: "ops", CancelledAt: at},
	} {
		typ, body, err := h.types.Encode(ev)
		if err != nil {
			return err
		}
		data = append(data, eventstore.EventData{ID: uuid.New(), Type: typ.Name, Payload: body,
			Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON}})
	}
	for i, d := range data {
		if _, err := h.store.Append(ctx, id, "order", eventstore.Exact(int64(i)), d); err != nil {
			return err
		}
	}
	return nil
}

// relay runs `strata relay` until it has acknowledged want events, then stops it.
func (h *history) relay(ctx context.Context, t *testing.T, want int) {
	t.Helper()
	out, errb := &relayOutput{}, &relayOutput{}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- Run(rctx, []string{"relay", "--database-url", h.dbURL, "--brokers", h.brokers, "--registry", h.regURL,
			"--topic-prefix", h.prefix, "--progress", "100ms"}, nil, out, errb)
	}()
	acked := fmt.Sprintf("acked=%d ", want)
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), acked) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	rcancel()
	if code := <-done; code != ExitOK || !strings.Contains(out.String(), acked) {
		t.Fatalf("relay run: exit %d, want %q in\n%s\n%s", code, acked, out.String(), errb.String())
	}
}

// commitGroups commits, on every partition of the topic, the first group at
// the high watermark and the second at half of it.
func (h *history) commitGroups(ctx context.Context, t *testing.T) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": h.brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.GetMetadata(&h.topic, false, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	h.highs = map[int32]int64{}
	req := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, p := range md.Topics[h.topic].Partitions {
		h.partitions = append(h.partitions, p.ID)
		req[kafka.TopicPartition{Topic: &h.topic, Partition: p.ID}] = kafka.LatestOffsetSpec
	}
	res, err := admin.ListOffsets(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for tp, info := range res.ResultInfos {
		h.highs[tp.Partition] = int64(info.Offset)
		total += int64(info.Offset)
	}
	if total != int64(h.events) {
		t.Fatalf("%s holds %d messages, want %d", h.topic, total, h.events)
	}
	for g, group := range h.groups {
		c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": h.brokers, "group.id": group, "enable.auto.commit": false})
		if err != nil {
			t.Fatal(err)
		}
		var offs []kafka.TopicPartition
		for _, p := range h.partitions {
			off := h.highs[p]
			if g == 1 {
				off /= 2
			}
			offs = append(offs, kafka.TopicPartition{Topic: &h.topic, Partition: p, Offset: kafka.Offset(off)})
		}
		if _, err := c.CommitOffsets(offs); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}

// TestOperatorCommandsOnRealHistory runs the operator's commands over that
// history and checks what they print.
func TestOperatorCommandsOnRealHistory(t *testing.T) {
	h := newHistory(t)

	t.Run("consumers lag without --group", func(t *testing.T) {
		// Both groups read the same topic: every group's partitions are
		// listed once, the high watermarks asked for once.
		var rows []consumers.LagRow
		var dlqs []consumers.DLQRow
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, out, errOut := run(t, "consumers", "lag", "--topic-prefix", h.prefix, "-o", "json", "--brokers", h.brokers)
			if code != ExitOK {
				t.Fatalf("consumers lag: exit %d: %s", code, errOut)
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
			if len(rows) == 2*len(h.partitions) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond) // group offsets become visible to the coordinator
		}
		if len(rows) != 2*len(h.partitions) {
			t.Fatalf("rows %+v, want each of %d partitions for both groups", rows, len(h.partitions))
		}
		for _, r := range rows {
			want := int64(0)
			if r.Group == h.groups[1] {
				want = h.highs[r.Partition] - h.highs[r.Partition]/2
			}
			if r.Topic != h.topic || r.High != h.highs[r.Partition] || r.Lag != want || (r.Group != h.groups[0] && r.Group != h.groups[1]) {
				t.Errorf("row %+v: want high %d lag %d", r, h.highs[r.Partition], want)
			}
		}
		if len(dlqs) != 1 || dlqs[0] != (consumers.DLQRow{Topic: h.dlq, Partition: 0, Messages: 2}) {
			t.Errorf("dlq rows %+v", dlqs)
		}
		code, out, errOut := run(t, "consumers", "lag", "--topic-prefix", h.prefix, "--brokers", h.brokers, "--max-lag", "0")
		if code != ExitFail || !strings.HasPrefix(out, "GROUP") || !strings.Contains(out, h.groups[0]) || !strings.Contains(out, h.groups[1]) ||
			!strings.Contains(out, h.dlq) || !strings.Contains(errOut, fmt.Sprintf("%d partition(s) lag more than 0", countLagging(rows))) {
			t.Errorf("consumers lag --max-lag 0: exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("events tail --last 3", func(t *testing.T) {
		// Under a steady write load: exactly the last three events of the log
		// as it was when the command started, in commit order.
		stop := make(chan struct{})
		var written atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ { // bounded: at most 2000 orders or until the command is done
				select {
				case <-stop:
					return
				default:
				}
				if h.appendOrder(context.Background(), fmt.Sprintf("load-%d", i)) != nil {
					return
				}
				written.Add(2)
			}
		}()
		for written.Load() < 20 {
			time.Sleep(5 * time.Millisecond)
		}
		code, out, errOut := run(t, "events", "tail", "--last", "3", "--database-url", h.dbURL, "--registry", "")
		close(stop)
		wg.Wait()
		evs := jsonLines(t, out)
		if code != ExitOK || len(evs) != 3 {
			t.Fatalf("events tail --last 3: exit %d, %d events (%d written meanwhile): %s", code, len(evs), written.Load(), errOut)
		}
		for i := 1; i < len(evs); i++ {
			a, _ := eventstore.ParseCursor(evs[i-1].Cursor)
			b, _ := eventstore.ParseCursor(evs[i].Cursor)
			if !a.Less(b) {
				t.Errorf("not in commit order: %s then %s", evs[i-1].Cursor, evs[i].Cursor)
			}
		}
		// Idle log: exactly the last three, the same as reading the log to its end.
		all, err := h.store.ReadAll(context.Background(), eventstore.Start, 100000)
		if err != nil {
			t.Fatal(err)
		}
		_, out, _ = run(t, "events", "tail", "--last", "3", "--database-url", h.dbURL, "--registry", "")
		evs = jsonLines(t, out)
		if len(evs) != 3 || evs[2].Cursor != all[len(all)-1].Cursor().String() || evs[0].Cursor != all[len(all)-3].Cursor().String() {
			t.Errorf("idle tail: %s", out)
		}
		code, out, _ = run(t, "events", "tail", "--last", "3", "-o", "table", "--database-url", h.dbURL, "--registry", "")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != ExitOK || len(lines) != 4 || !strings.HasPrefix(lines[0], "CURSOR") {
			t.Errorf("tail -o table: exit %d\n%s", code, out)
		}
	})

	t.Run("dlq list TOPIC", func(t *testing.T) {
		// The form the StrataDLQ alert tells operators to run: the topic as
		// an argument, the dead-letter topic or the one it belongs to.
		for _, arg := range []string{h.dlq, h.topic} {
			code, out, errOut := run(t, "dlq", "list", arg, "--brokers", h.brokers)
			if code != ExitOK || strings.Count(out, `"original"`) != 2 || !strings.Contains(out, `"key":"o-2-1-1"`) {
				t.Errorf("dlq list %s: exit %d\n%s%s", arg, code, out, errOut)
			}
		}
		code, out, _ := run(t, "dlq", "list", h.topic, "-o", "table", "--brokers", h.brokers)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); code != ExitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "PARTITION") || !strings.Contains(lines[2], "o-2-1-1") {
			t.Errorf("dlq list -o table: exit %d\n%s", code, out)
		}
		code, out, errOut := run(t, "dlq", "show", h.topic, "--partition", "0", "--offset", "1", "--brokers", h.brokers, "--registry", h.regURL)
		if code != ExitOK || !strings.Contains(out, `"key": "o-2-1-1"`) || !strings.Contains(out, `"payload_error"`) {
			t.Errorf("dlq show: exit %d\n%s%s", code, out, errOut)
		}
		if code, _, errOut := run(t, "dlq", "list", h.topic, "--topic", h.dlq, "--brokers", h.brokers); code != ExitUsage || !strings.Contains(errOut, "not both") {
			t.Errorf("dlq list TOPIC --topic T: exit %d: %s", code, errOut)
		}
		// replay TOPIC: both back on the original topic, the group's position
		// committed, so a second run replays nothing.
		group := testenv.UniqueName("ops-replay")
		code, out, errOut = run(t, "dlq", "replay", h.dlq, "--group", group, "--brokers", h.brokers)
		if code != ExitOK || strings.Count(out, `"action":"replay"`) != 2 || !strings.Contains(errOut, "2 replayed, 0 passed over") {
			t.Errorf("dlq replay: exit %d\n%s%s", code, out, errOut)
		}
		if code, _, errOut = run(t, "dlq", "replay", h.topic, "--group", group, "--brokers", h.brokers); code != ExitOK || !strings.Contains(errOut, "0 replayed") {
			t.Errorf("second dlq replay: exit %d: %s", code, errOut)
		}
	})

	t.Run("events show", func(t *testing.T) {
		code, out, errOut := run(t, "events", "show", "o-2-3-5", "--database-url", h.dbURL, "--registry", "")
		evs := jsonLines(t, out)
		if code != ExitOK || len(evs) != 2 || evs[0].Type != "shop.order.OrderPlaced" || evs[1].Type != "shop.order.OrderCancelled" ||
			evs[1].Version != 2 || !strings.Contains(string(evs[1].Data), `"reason":"ops"`) {
			t.Errorf("events show: exit %d\n%s%s", code, out, errOut)
		}
	})
}

func countLagging(rows []consumers.LagRow) int {
	n := 0
	for _, r := range rows {
		if r.Lag > 0 {
			n++
		}
	}
	return n
}
