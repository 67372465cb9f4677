// Command demo drives the running shop (`make run`) the way a newcomer would
// watch it: it places a few hundred orders over gRPC with bounded
// concurrency, confirms, ships and cancels some, waits until the read model
// shows every command (querying with each command's position token), and
// prints a summary: orders by status, command and command -> read model
// latencies (p50/p99), events stored and messages on Kafka.
//
//	go run ./tools/demo [-orders 300] [-concurrency 16]
//
// Addresses come from the environment that `make env` prints (ORDER_GRPC_ADDR,
// QUERY_GRPC_ADDR, DATABASE_URL, KAFKA_BROKERS).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	orders, concurrency  int
	orderAddr, queryAddr string
	dbURL, brokers       string
	topic                string
	seed                 uint64
	timeout              time.Duration
	saga                 bool // the fulfilment saga confirms orders (sagas.go)
}

func run(ctx context.Context, args []string, out, errw io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(errw)
	var c config
	fs.IntVar(&c.orders, "orders", 300, "orders to place")
	fs.IntVar(&c.concurrency, "concurrency", 16, "commands in flight at most")
	fs.StringVar(&c.orderAddr, "order-addr", env("ORDER_GRPC_ADDR", "127.0.0.1:50051"), "OrderService address")
	fs.StringVar(&c.queryAddr, "query-addr", env("QUERY_GRPC_ADDR", "127.0.0.1:50052"), "OrderQueryService address")
	fs.StringVar(&c.dbURL, "database-url", env("DATABASE_URL", "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"), "event store database")
	fs.StringVar(&c.brokers, "brokers", env("KAFKA_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap servers")
	fs.StringVar(&c.topic, "topic", "events.order", "topic whose messages are counted")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "random seed of the order mix")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Minute, "give up after this long")
	fs.BoolVar(&c.saga, "saga", sagaRunning(), "the saga orchestrator runs: let it confirm orders (default: whether SAGA_METRICS_ADDR answers)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.orders <= 0 || c.concurrency <= 0 {
		fmt.Fprintln(errw, "demo: -orders and -concurrency must be positive")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := demo(ctx, c, out); err != nil {
		fmt.Fprintln(errw, "demo:", err)
		return 1
	}
	return 0
}

// sample collects latencies.
type sample struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sample) add(d time.Duration) { s.mu.Lock(); s.d = append(s.d, d); s.mu.Unlock() }

func (s *sample) pct(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return 0
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := int(p*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

func (s *sample) n() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.d) }

type clients struct {
	orders orderv1.OrderServiceClient
	query  queryv1.OrderQueryServiceClient
}

// stats is everything the summary prints.
type stats struct {
	commands   atomic.Int64
	failed     atomic.Int64
	cmdLatency sample // command sent -> reply
	rmLatency  sample // command sent -> read model shows it (query with the token)
	byStatus   sync.Map
	firstErr   atomic.Value
}

func (st *stats) fail(err error) {
	st.failed.Add(1)
	st.firstErr.CompareAndSwap(nil, err.Error())
}

// command runs one command and then waits, through the query API with the
// reply's position token, until the read model shows it.
func (cl clients) command(ctx context.Context, st *stats, id string, call func(ctx context.Context) (*orderv1.CommandResult, error)) (string, bool) {
	t0 := time.Now()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-correlation-id", "demo-"+uuid.NewString())
	res, err := call(ctx)
	if err != nil {
		st.fail(err)
		return "", false
	}
	st.commands.Add(1)
	st.cmdLatency.add(time.Since(t0))
	if id == "" {
		id = res.OrderId
	}
	for attempt := 0; ; attempt++ {
		r, err := cl.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: id, MinPosition: res.Position})
		if err == nil {
			st.rmLatency.add(time.Since(t0))
			st.byStatus.Store(id, r.Summary.Status)
			return id, true
		}
		if attempt >= 2 || ctx.Err() != nil {
			st.fail(fmt.Errorf("read model for %s: %w", id, err))
			return id, false
		}
	}
}

var products = []string{"keyboard", "mouse", "monitor", "cable", "dock", "webcam", "headset", "lamp"}

func placeReq(r *rand.Rand) *orderv1.PlaceOrderRequest {
	n := 1 + r.IntN(3)
	items := make([]*orderv1.OrderItem, n)
	for i := range items {
		items[i] = &orderv1.OrderItem{ProductId: products[r.IntN(len(products))], Quantity: int32(1 + r.IntN(4)),
			UnitPrice: &orderv1.Money{CurrencyCode: "KRW", AmountMinor: int64(1000 * (5 + r.IntN(200)))}}
	}
	return &orderv1.PlaceOrderRequest{
		CommandId: uuid.NewString(), CustomerId: fmt.Sprintf("customer-%03d", r.IntN(50)), CurrencyCode: "KRW", Items: items,
		ShippingAddress: &orderv1.Address{Recipient: "Demo", Line1: "1 Teheran-ro", City: "Seoul", PostalCode: "06236", CountryCode: "KR"},
	}
}

// plan is what happens to one order after it is placed.
type plan int

const (
	stayPlaced plan = iota
	confirm
	confirmShip
	cancelPlaced
	confirmCancel
)

func demo(ctx context.Context, c config, out io.Writer) error {
	start := time.Now()
	oc, err := grpc.NewClient(c.orderAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer oc.Close()
	qc, err := grpc.NewClient(c.queryAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer qc.Close()
	cl := clients{orders: orderv1.NewOrderServiceClient(oc), query: queryv1.NewOrderQueryServiceClient(qc)}
	eventsBefore, _ := countEvents(ctx, c.dbURL)
	msgsBefore, _ := topicMessages(c.brokers, c.topic)

	fmt.Fprintf(out, "demo: %d orders, %d in flight, order service %s, query service %s\n", c.orders, c.concurrency, c.orderAddr, c.queryAddr)
	st := &stats{}
	rng := rand.New(rand.NewPCG(c.seed, 42))
	plans := make([]plan, c.orders)
	reqs := make([]*orderv1.PlaceOrderRequest, c.orders)
	for i := range plans {
		switch x := rng.IntN(100); {
		case x < 25:
			plans[i] = stayPlaced
		case x < 50:
			plans[i] = confirm
		case x < 75:
			plans[i] = confirmShip
		case x < 90:
			plans[i] = cancelPlaced
		default:
			plans[i] = confirmCancel
		}
		reqs[i] = placeReq(rng)
		if c.saga && plans[i] == stayPlaced {
			reqs[i].CustomerId = declinedCustomer // the saga cancels it: payment declined
		}
	}
	var done atomic.Int64
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				fmt.Fprintf(out, "  ... %d/%d orders through their life cycle, %d commands, %d failed, read model p50 %v (%s)\n",
					done.Load(), c.orders, st.commands.Load(), st.failed.Load(), st.rmLatency.pct(0.5).Round(time.Millisecond), time.Since(start).Round(time.Second))
			}
		}
	}()
	sem := make(chan struct{}, c.concurrency)
	var wg sync.WaitGroup
	for i := range c.orders {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem; done.Add(1) }()
			lifecycle(ctx, cl, st, reqs[i], plans[i], c.saga)
		}()
	}
	wg.Wait()
	close(progressDone)
	if ctx.Err() != nil {
		return fmt.Errorf("stopped: %w", ctx.Err())
	}
	elapsed := time.Since(start)

	// Summary.
	counts := map[string]int{}
	st.byStatus.Range(func(_, v any) bool {
		counts[strings.TrimPrefix(v.(queryv1.OrderStatus).String(), "ORDER_STATUS_")]++
		return true
	})
	wantCounts := map[string]int{}
	for _, p := range plans {
		if c.saga && p == stayPlaced {
			wantCounts["CANCELLED"]++
			continue
		}
		wantCounts[[]string{"PLACED", "CONFIRMED", "SHIPPED", "CANCELLED", "CANCELLED"}[p]]++
	}
	fmt.Fprintf(out, "\n== summary (%s) ==\n", elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "orders by status in the read model (this run):\n")
	keys := []string{"PLACED", "CONFIRMED", "SHIPPED", "CANCELLED"}
	for _, k := range keys {
		mark := ""
		if counts[k] != wantCounts[k] {
			mark = fmt.Sprintf("  (expected %d)", wantCounts[k])
		}
		fmt.Fprintf(out, "  %-10s %4d%s\n", k, counts[k], mark)
	}
	if all, err := readModelTotals(ctx, cl.query); err == nil {
		fmt.Fprintf(out, "read model totals (all runs): %s\n", all)
	}
	n := st.commands.Load()
	fmt.Fprintf(out, "commands: %d ok, %d failed, %.0f commands/s\n", n, st.failed.Load(), float64(n)/elapsed.Seconds())
	fmt.Fprintf(out, "command latency (sent -> reply):              p50 %v  p99 %v\n", st.cmdLatency.pct(0.5).Round(10*time.Microsecond), st.cmdLatency.pct(0.99).Round(10*time.Microsecond))
	fmt.Fprintf(out, "command -> read model (sent -> query with token returns): p50 %v  p99 %v  (%d samples)\n",
		st.rmLatency.pct(0.5).Round(10*time.Microsecond), st.rmLatency.pct(0.99).Round(10*time.Microsecond), st.rmLatency.n())
	if evs, err := countEvents(ctx, c.dbURL); err == nil {
		fmt.Fprintf(out, "events stored: %d in total, %d by this run\n", evs, evs-eventsBefore)
	} else {
		fmt.Fprintf(out, "events stored: unknown (%v)\n", err)
	}
	if msgs, err := topicMessages(c.brokers, c.topic); err == nil {
		fmt.Fprintf(out, "messages on Kafka topic %s: %d (from partition watermarks), %d by this run\n", c.topic, msgs, msgs-msgsBefore)
	} else {
		fmt.Fprintf(out, "messages on Kafka: unknown (%v)\n", err)
	}
	var ids []string // the fulfilment sagas (docs/sagas.md) of this run's orders
	st.byStatus.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
	printSagaOutcomes(ctx, out, c.dbURL, ids, 60*time.Second)
	if f := st.failed.Load(); f > 0 {
		return fmt.Errorf("%d commands or reads failed; first: %v", f, st.firstErr.Load())
	}
	for _, k := range keys {
		if counts[k] != wantCounts[k] {
			return fmt.Errorf("the read model disagrees with the commands for %s", k)
		}
	}
	return nil
}

func lifecycle(ctx context.Context, cl clients, st *stats, req *orderv1.PlaceOrderRequest, p plan, saga bool) {
	id, ok := cl.command(ctx, st, "", func(ctx context.Context) (*orderv1.CommandResult, error) {
		r, err := cl.orders.PlaceOrder(ctx, req)
		return r.GetResult(), err
	})
	if !ok {
		return
	}
	steps := map[plan][]string{confirm: {"confirm"}, confirmShip: {"confirm", "ship"}, cancelPlaced: {"cancel"}, confirmCancel: {"confirm", "cancel"}}[p]
	if saga && p == stayPlaced {
		steps = []string{"cancelled by the saga"}
	}
	for _, s := range steps {
		if saga && (s == "confirm" || s == "cancelled by the saga") {
			// The fulfilment saga confirms (payment and stock done) or cancels.
			want := map[bool]queryv1.OrderStatus{true: queryv1.OrderStatus_ORDER_STATUS_CONFIRMED, false: queryv1.OrderStatus_ORDER_STATUS_CANCELLED}[s == "confirm"]
			if !cl.await(ctx, st, id, want) {
				return
			}
			continue
		}
		var call func(ctx context.Context) (*orderv1.CommandResult, error)
		switch s {
		case "confirm":
			call = func(ctx context.Context) (*orderv1.CommandResult, error) {
				r, err := cl.orders.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: id, PaymentId: "pay-" + id[:8], ReservationId: "res-" + id[:8]})
				return r.GetResult(), err
			}
		case "ship":
			call = func(ctx context.Context) (*orderv1.CommandResult, error) {
				r, err := cl.orders.ShipOrder(ctx, &orderv1.ShipOrderRequest{CommandId: uuid.NewString(), OrderId: id, Carrier: "CJ Logistics", TrackingNumber: "CJ" + id[:8]})
				return r.GetResult(), err
			}
		case "cancel":
			call = func(ctx context.Context) (*orderv1.CommandResult, error) {
				r, err := cl.orders.CancelOrder(ctx, &orderv1.CancelOrderRequest{CommandId: uuid.NewString(), OrderId: id, Reason: "customer changed their mind"})
				return r.GetResult(), err
			}
		}
		if _, ok := cl.command(ctx, st, id, call); !ok {
			return
		}
	}
}

func readModelTotals(ctx context.Context, q queryv1.OrderQueryServiceClient) (string, error) {
	var parts []string
	for _, s := range []queryv1.OrderStatus{queryv1.OrderStatus_ORDER_STATUS_PLACED, queryv1.OrderStatus_ORDER_STATUS_CONFIRMED,
		queryv1.OrderStatus_ORDER_STATUS_SHIPPED, queryv1.OrderStatus_ORDER_STATUS_CANCELLED} {
		n, tok := 0, ""
		for page := 0; page < 1000; page++ {
			r, err := q.ListOrders(ctx, &queryv1.ListOrdersRequest{Status: s, PageSize: 500, PageToken: tok})
			if err != nil {
				return "", err
			}
			n += len(r.Orders)
			if tok = r.NextPageToken; tok == "" {
				break
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(s.String(), "ORDER_STATUS_"), n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", "), nil
}

func countEvents(ctx context.Context, dbURL string) (int64, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

// topicMessages sums high - low watermarks over the topic's partitions.
func topicMessages(brokers, topic string) (int64, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": "strata-demo-watermarks", "log_level": 3})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 5000)
	if err != nil {
		return 0, err
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s: %v", topic, tm.Error)
	}
	var total int64
	for _, p := range tm.Partitions {
		lo, hi, err := c.QueryWatermarkOffsets(topic, p.ID, 5000)
		if err != nil {
			return 0, err
		}
		total += hi - lo
	}
	return total, nil
}
