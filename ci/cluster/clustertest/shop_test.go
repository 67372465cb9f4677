//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratahq/strata/eventstore"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	orderservice "github.com/stratahq/strata/services/order/service"
	"github.com/stratahq/strata/services/projector/service"
)

// cluster is the 3-node Kafka cluster and the replica started by ci/cluster.sh.
type cluster struct {
	root     string
	brokers  string // KAFKA_BROKERS of `ci/cluster.sh env`
	readBase string // READ_DATABASE_URL of `ci/cluster.sh env`
}

// missing skips on a developer machine and fails under CI.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (start it with `make up CLUSTER=3`, then eval \"$(make -s env CLUSTER=3)\")"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// needCluster checks that KAFKA_BROKERS names a cluster of at least 3 brokers
// and that READ_DATABASE_URL is a standby.
func needCluster(t *testing.T, replica bool) *cluster {
	t.Helper()
	c := &cluster{root: testenv.RepoRoot(t), brokers: os.Getenv("KAFKA_BROKERS"), readBase: os.Getenv("READ_DATABASE_URL")}
	if c.brokers == "" {
		missing(t, "KAFKA_BROKERS is not set")
	}
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": c.brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	md, err := a.GetMetadata(nil, false, 10000)
	if err != nil {
		missing(t, "Kafka cluster at %s: %v", c.brokers, err)
	}
	if len(md.Brokers) < 3 {
		missing(t, "KAFKA_BROKERS=%s is a cluster of %d broker(s), these tests need 3", c.brokers, len(md.Brokers))
	}
	if replica {
		if c.readBase == "" {
			missing(t, "READ_DATABASE_URL is not set")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.readBase)
		if err != nil {
			missing(t, "read replica %s: %v", c.readBase, err)
		}
		defer conn.Close(ctx)
		var standby bool
		if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil || !standby {
			t.Fatalf("READ_DATABASE_URL is not a standby (pg_is_in_recovery %v, %v)", standby, err)
		}
	}
	return c
}

// script runs ci/cluster.sh with args (bounded) and returns its output.
func (c *cluster) script(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.root, "ci", "cluster.sh"), args...)
	cmd.Dir = c.root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kill sends SIGKILL to a node started by ci/cluster.sh and returns its pid.
func (c *cluster) kill(t *testing.T, node string) int {
	t.Helper()
	out, err := c.script(context.Background(), "pid", node)
	pid, perr := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || perr != nil {
		t.Fatalf("pid of %s: %q %v", node, out, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (pid %d): %v", node, pid, err)
	}
	return pid
}

// ensureUp starts whatever is down; registered as a cleanup so a failing
// test never leaves the cluster short of a node for the next one.
func (c *cluster) ensureUp(t *testing.T) {
	t.Cleanup(func() {
		if out, err := c.script(context.Background(), "up"); err != nil {
			t.Errorf("ci/cluster.sh up after the test: %v\n%s", err, out)
		}
	})
}

// shop is the order slice in-process: order service, relay and projector on a
// throwaway database (primary), topics of their own on the cluster, and the
// projector's queries on the replica when one is given.
type shop struct {
	prefix       string
	dbURL        string
	replicaURL   string
	db           *pgxpool.Pool
	orders       orderv1.OrderServiceClient
	query        queryv1.OrderQueryServiceClient
	reg          *prometheus.Registry // the projector's metrics
	delivered    atomic.Int64
	lastAck      atomic.Int64 // unix nanos of the relay's last acknowledged event
	maxAckGap    atomic.Int64 // longest pause between two acknowledgements while events waited
	warm         loadResult   // one order through the whole pipeline before the test's load
	relayStarted time.Time
}

func run(t *testing.T, name string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := f(ctx)
		if err != nil && ctx.Err() == nil {
			t.Errorf("%s stopped: %v", name, err)
		}
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
}

// replicaOf returns the replica's URL for the primary database of dbURL.
func replicaOf(t *testing.T, readBase, dbURL string) string {
	t.Helper()
	p, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(readBase)
	if err != nil {
		t.Fatal(err)
	}
	r.Path = p.Path
	return r.String()
}

func startShop(t *testing.T, c *cluster, replica bool) *shop {
	t.Helper()
	regURL := testenv.SchemaRegistryURL(t)
	dbURL := testenv.NewDatabase(t)
	ctx := context.Background()
	s := &shop{prefix: testenv.UniqueName("cl") + ".", dbURL: dbURL, reg: observe.NewRegistry()}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s.db = pool
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if replica {
		s.replicaURL = replicaOf(t, c.readBase, dbURL)
		// The new database reaches the replica through WAL: wait for it.
		deadline := time.Now().Add(60 * time.Second)
		for {
			conn, err := pgx.Connect(ctx, s.replicaURL)
			if err == nil {
				conn.Close(ctx)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the test database did not reach the replica: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	kc := messaging.KafkaConfig{"bootstrap.servers": c.brokers}

	orderReady := make(chan string, 1)
	run(t, "order", func(ctx context.Context) error {
		return orderservice.Run(ctx, orderservice.Config{
			DatabaseURL: dbURL, GRPCAddr: "127.0.0.1:0", Registry: observe.NewRegistry(),
			Commands: orderservice.DefaultCommands(), Ready: func(a, _ string) { orderReady <- a },
		})
	})
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: s.prefix + "relay", Log: messaging.NewStoreLog(store), DB: pool,
		Registry: testenv.RegistryClient(t, regURL), RegisterSchemas: true, Kafka: kc,
		Route:  func(e *messaging.LogEvent) string { return s.prefix + messaging.DefaultRoute(e) },
		Topics: messaging.TopicSettings{Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 2},
		OnDelivered: func(d messaging.Delivery) {
			s.delivered.Add(1)
			now := d.AckedAt.UnixNano()
			// A pause counts from the later of the previous ack and this event's send.
			from := max(s.lastAck.Swap(now), d.SentAt.UnixNano())
			if gap := now - from; gap > s.maxAckGap.Load() {
				s.maxAckGap.Store(gap)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "relay", relay.Run)
	queryReady := make(chan string, 1)
	run(t, "projector", func(ctx context.Context) error {
		return service.Run(ctx, service.Config{
			DatabaseURL: dbURL, ReadDatabaseURL: s.replicaURL, ReadFallback: "primary",
			Kafka: kc, SchemaRegistryURL: regURL,
			GRPCAddr: "127.0.0.1:0", Group: s.prefix + "projector", Topics: []string{s.prefix + "events.order"},
			Registry: s.reg, Ready: func(a, _ string) { queryReady <- a }, WaitTimeout: 30 * time.Second,
		})
	})
	for _, ch := range []chan string{orderReady, queryReady} {
		select {
		case addr := <-ch:
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			if ch == orderReady {
				s.orders = orderv1.NewOrderServiceClient(conn)
			} else {
				s.query = queryv1.NewOrderQueryServiceClient(conn)
			}
		case <-time.After(90 * time.Second):
			t.Fatal("services did not start")
		}
	}
	// Warm up: topic creation, the producer id, the consumer group join.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	s.warm = load(t, ctx, s, 1, 1, 1, nil)
	waitReadModel(t, ctx, s, 1, 2*time.Minute)
	t.Logf("warm-up order through relay, cluster and projector in %v", time.Since(start).Round(time.Millisecond))
	return s
}

func placeRequest(i int) *orderv1.PlaceOrderRequest {
	return &orderv1.PlaceOrderRequest{
		CommandId: uuid.NewString(), CustomerId: fmt.Sprint("cust-", i%7),
		Items:           []*orderv1.OrderItem{{ProductId: "p-1", Quantity: int32(i%5 + 1), UnitPrice: &orderv1.Money{AmountMinor: 1000}}},
		ShippingAddress: &orderv1.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	}
}

// load places n orders at a steady rate (per second) with a few workers and
// confirms each one, so every stream has two events whose order matters.
// at(i) runs on the pacing goroutine just before order i is issued.
type loadResult struct {
	ids    []string
	tokens []string // the confirm's position token
	took   time.Duration
}

func load(t *testing.T, ctx context.Context, s *shop, n, rate, workers int, at func(i int)) loadResult {
	t.Helper()
	res := loadResult{ids: make([]string, n), tokens: make([]string, n)}
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				// Commands write to PostgreSQL only: a broker down must not fail them.
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				p, err := s.orders.PlaceOrder(cctx, placeRequest(i))
				if err == nil {
					res.ids[i] = p.Result.OrderId
					var c *orderv1.ConfirmOrderResponse
					c, err = s.orders.ConfirmOrder(cctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: p.Result.OrderId, PaymentId: "pay", ReservationId: "res"})
					if err == nil {
						res.tokens[i] = c.Result.Position
					}
				}
				cancel()
				if err != nil {
					failed.Add(1)
					t.Errorf("order %d: %v", i, err)
				}
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := range n {
		if at != nil {
			at(i)
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			t.Fatalf("load: %v", ctx.Err())
		}
		<-tick.C
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	if failed.Load() > 0 {
		t.Fatalf("%d of %d orders failed", failed.Load(), n)
	}
	return res
}

// waitReadModel waits until the primary's read model shows every order
// confirmed at version 2.
func waitReadModel(t *testing.T, ctx context.Context, s *shop, n int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	last := -1
	for {
		var done int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM read.order_summaries WHERE status = 'CONFIRMED' AND version = 2`).Scan(&done); err != nil {
			t.Logf("read model: %v", err)
		}
		if done == n {
			return time.Since(start)
		}
		if done != last && time.Since(start) > 5*time.Second {
			t.Logf("read model: %d of %d orders confirmed, relay delivered %d events", done, n, s.delivered.Load())
			last = done
		}
		if time.Now().After(deadline) {
			t.Fatalf("read model has %d of %d orders confirmed after %v (relay delivered %d of %d events)", done, n, within, s.delivered.Load(), 2*n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// verifyEffect checks exactly-once effect on the read side: each order once,
// counted once in daily_sales, no projection failures, nothing dead-lettered.
func verifyEffect(t *testing.T, ctx context.Context, s *shop, c *cluster, ids []string) {
	t.Helper()
	n := len(ids)
	var rows, distinct int
	if err := s.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT order_id) FROM read.order_summaries`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	var placed, confirmed int64
	if err := s.db.QueryRow(ctx, `SELECT coalesce(sum(orders_placed), 0), coalesce(sum(orders_confirmed), 0) FROM read.daily_sales`).Scan(&placed, &confirmed); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || placed != int64(n) || confirmed != int64(n) {
		t.Fatalf("read model: %d rows (%d distinct), daily_sales placed %d confirmed %d; want %d of each", rows, distinct, placed, confirmed, n)
	}
	var failures int64
	var lastErr *string
	if err := s.db.QueryRow(ctx, `SELECT coalesce(sum(failures), 0), max(last_error) FROM read.projection_status`).Scan(&failures, &lastErr); err != nil {
		t.Fatal(err)
	}
	if failures != 0 {
		t.Errorf("projection failures %d (last error %v): an event arrived out of order or was refused", failures, *lastErr)
	}
	dlq := topicScan(t, c, s.prefix+"events.order.dlq", false)
	if len(dlq) != 0 {
		t.Errorf("%d messages were dead-lettered", len(dlq))
	}
}

// msg is one message of a topic scan.
type msg struct {
	key       string
	version   int64
	eventID   string
	partition int32
	offset    int64
}

// topicScan reads a topic from the beginning to its high watermarks.
func topicScan(t *testing.T, c *cluster, topic string, mustExist bool) []msg {
	t.Helper()
	kc, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": c.brokers, "group.id": testenv.UniqueName("scan"),
		"enable.auto.commit": false, "auto.offset.reset": "earliest",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	md, err := kc.GetMetadata(&topic, false, 10000)
	if err != nil {
		t.Fatalf("metadata %s: %v", topic, err)
	}
	tm := md.Topics[topic]
	if tm.Error.Code() == kafka.ErrUnknownTopicOrPart || len(tm.Partitions) == 0 {
		if mustExist {
			t.Fatalf("topic %s does not exist", topic)
		}
		return nil
	}
	var parts []kafka.TopicPartition
	high := map[int32]int64{}
	for _, p := range tm.Partitions {
		lo, hi, err := kc.QueryWatermarkOffsets(topic, p.ID, 10000)
		if err != nil {
			t.Fatalf("watermarks %s/%d: %v", topic, p.ID, err)
		}
		if hi > lo {
			high[p.ID] = hi
			parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.Offset(lo)})
		}
	}
	if len(parts) == 0 {
		return nil
	}
	if err := kc.Assign(parts); err != nil {
		t.Fatal(err)
	}
	var out []msg
	deadline := time.Now().Add(60 * time.Second)
	for len(high) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("scan of %s: partitions %v not read to their end in 60s", topic, high)
		}
		m, err := kc.ReadMessage(time.Second)
		if err != nil {
			if ke, ok := err.(kafka.Error); ok && ke.Code() == kafka.ErrTimedOut {
				continue
			}
			t.Fatalf("scan %s: %v", topic, err)
		}
		x := msg{key: string(m.Key), partition: m.TopicPartition.Partition, offset: int64(m.TopicPartition.Offset)}
		for _, h := range m.Headers {
			switch h.Key {
			case messaging.HeaderStreamVersion:
				x.version, _ = strconv.ParseInt(string(h.Value), 10, 64)
			case messaging.HeaderEventID:
				x.eventID = string(h.Value)
			}
		}
		out = append(out, x)
		if x.offset+1 >= high[x.partition] {
			delete(high, x.partition)
		}
	}
	return out
}

// verifyTopic checks the topic itself: every event of every order is there
// (none lost), per key in stream order with at most redelivered suffixes
// (at-least-once: a version never jumps ahead), and reports duplicates.
func verifyTopic(t *testing.T, c *cluster, s *shop, ids []string) (messages, duplicates int) {
	t.Helper()
	ms := topicScan(t, c, s.prefix+"events.order", true)
	byKey := map[string][]msg{}
	for _, m := range ms {
		byKey[m.key] = append(byKey[m.key], m)
	}
	for _, id := range ids {
		key := "order-" + id
		seq := byKey[key]
		seen := map[int64]bool{}
		var prev int64
		for i, m := range seq {
			if m.partition != seq[0].partition {
				t.Fatalf("%s is on partitions %d and %d", key, seq[0].partition, m.partition)
			}
			if m.version > prev+1 || (i == 0 && m.version != 1) {
				t.Fatalf("%s: version %d after %d (offset %d): per-key order broken", key, m.version, prev, m.offset)
			}
			if seen[m.version] {
				duplicates++
			}
			seen[m.version] = true
			prev = m.version
		}
		if !seen[1] || !seen[2] {
			vs := make([]int64, 0, len(seq))
			for _, m := range seq {
				vs = append(vs, m.version)
			}
			t.Fatalf("%s: versions on the topic %v, want 1 and 2: an event was lost", key, vs)
		}
		delete(byKey, key)
	}
	if len(byKey) > 0 {
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("unexpected keys on the topic: %v", keys[:min(5, len(keys))])
	}
	return len(ms), duplicates
}

// gauge sums the samples of a metric family whose labels include match.
func gauge(t *testing.T, reg *prometheus.Registry, name string, match map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Logf("gather: %v", err)
	}
	var sum float64
	found := false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue metrics
				}
			}
			found = true
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum, found
}
