package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	orderservice "github.com/stratahq/strata/services/order/service"
	"github.com/stratahq/strata/services/order/upcast"
	"github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/upcasters"
)

// stack is the whole slice running in-process: order service, relay and
// projector, on a throwaway database and topics of their own.
type stack struct {
	prefix   string
	brokers  string
	registry string
	db       *pgxpool.Pool
	store    *eventstore.Store
	orders   orderv1.OrderServiceClient
	query    queryv1.OrderQueryServiceClient
	runner   *projection.Runner
}

func run(t *testing.T, ctx context.Context, name string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		err := f(ctx)
		if err != nil && ctx.Err() == nil {
			t.Errorf("%s stopped: %v", name, err) // before the test ended it
		}
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
}

func startStack(t *testing.T) *stack {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	regURL := testenv.SchemaRegistryURL(t)
	dbURL := testenv.NewDatabase(t)
	ctx := context.Background()
	prefix := testenv.UniqueName("t") + "."
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}

	orderReady := make(chan string, 1)
	run(t, ctx, "order", func(ctx context.Context) error {
		return orderservice.Run(ctx, orderservice.Config{
			DatabaseURL: dbURL, GRPCAddr: "127.0.0.1:0", Registry: observe.NewRegistry(),
			Commands: orderservice.DefaultCommands(), Ready: func(a, _ string) { orderReady <- a },
			Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, SchemaRegistryURL: regURL,
			CommandTopics: []string{prefix + "commands.order"}, CommandGroup: prefix + "order-commands",
		})
	})
	relay, err := messaging.NewRelay(messaging.RelayConfig{
		Name: prefix + "relay", Log: messaging.NewStoreLog(store), DB: pool,
		Registry: testenv.RegistryClient(t, regURL), RegisterSchemas: true, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers},
		Route: func(e *messaging.LogEvent) string { return prefix + messaging.DefaultRoute(e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "relay", relay.Run)
	queryReady := make(chan string, 1)
	run(t, ctx, "projector", func(ctx context.Context) error {
		return service.Run(ctx, service.Config{
			DatabaseURL: dbURL, Kafka: messaging.KafkaConfig{"bootstrap.servers": brokers}, SchemaRegistryURL: regURL,
			GRPCAddr: "127.0.0.1:0", Group: prefix + "projector", Topics: []string{prefix + "events.order"},
			Registry: observe.NewRegistry(), Ready: func(a, _ string) { queryReady <- a },
		})
	})
	s := &stack{prefix: prefix, brokers: brokers, registry: regURL, db: pool, store: store, runner: projection.NewRunner(pool, service.Projections()...)}
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
		case <-time.After(60 * time.Second):
			t.Fatal("services did not start")
		}
	}
	return s
}

func place(customer string, qty int32) *orderv1.PlaceOrderRequest {
	return &orderv1.PlaceOrderRequest{
		CommandId: uuid.NewString(), CustomerId: customer,
		Items:           []*orderv1.OrderItem{{ProductId: "p-1", Quantity: qty, UnitPrice: &orderv1.Money{AmountMinor: 1000}}},
		ShippingAddress: &orderv1.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	}
}

// Commands go through the event store, the relay and Kafka to the read
// models; queries with the command's position token read their writes.
func TestEndToEndThroughKafka(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	const n = 12
	ids := make([]string, n)
	tokens := make([]string, n)
	for i := range n {
		r, err := s.orders.PlaceOrder(ctx, place(fmt.Sprint("cust-", i%3), int32(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i], tokens[i] = r.Result.OrderId, r.Result.Position
	}
	want := map[string]queryv1.OrderStatus{}
	for i, id := range ids {
		want[id] = queryv1.OrderStatus_ORDER_STATUS_PLACED
		switch i % 4 {
		case 1, 2:
			r, err := s.orders.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: id, PaymentId: "p", ReservationId: "r"})
			if err != nil {
				t.Fatal(err)
			}
			tokens[i] = r.Result.Position
			want[id] = queryv1.OrderStatus_ORDER_STATUS_CONFIRMED
			if i%4 == 2 {
				r, err := s.orders.ShipOrder(ctx, &orderv1.ShipOrderRequest{CommandId: uuid.NewString(), OrderId: id, Carrier: "CJ", TrackingNumber: "T"})
				if err != nil {
					t.Fatal(err)
				}
				tokens[i] = r.Result.Position
				want[id] = queryv1.OrderStatus_ORDER_STATUS_SHIPPED
			}
		case 3:
			r, err := s.orders.CancelOrder(ctx, &orderv1.CancelOrderRequest{CommandId: uuid.NewString(), OrderId: id, Reason: "test"})
			if err != nil {
				t.Fatal(err)
			}
			tokens[i] = r.Result.Position
			want[id] = queryv1.OrderStatus_ORDER_STATUS_CANCELLED
		}
	}
	// Read your writes: each query waits for its token.
	for i, id := range ids {
		start := time.Now()
		r, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: id, MinPosition: tokens[i]})
		if err != nil {
			t.Fatalf("summary %d: %v", i, err)
		}
		if r.Summary.Status != want[id] || r.Summary.TotalAmountMinor != int64(i+1)*1000 || r.Summary.ItemCount != int32(i+1) || r.Summary.CurrencyCode != "KRW" {
			t.Fatalf("summary %d = %+v, want status %v", i, r.Summary, want[id])
		}
		if i == 0 {
			t.Logf("first read-your-writes query waited %v", time.Since(start))
		}
	}
	// Without a token, an unknown order is NOT_FOUND; a bad token INVALID_ARGUMENT.
	if _, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: ids[0], MinPosition: "junk"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad token: %v", err)
	}
	// A token the projection cannot reach (a version that does not exist) times out.
	far := projection.Token{StreamID: "order-" + ids[0], Version: 99}.String()
	short, cancelShort := context.WithTimeout(ctx, 20*time.Second)
	if _, err := s.query.GetOrderSummary(short, &queryv1.GetOrderSummaryRequest{OrderId: ids[0], MinPosition: far}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("unreachable token: %v", err)
	}
	cancelShort()

	// Lists: filter by customer and status, page through with keyset tokens.
	var seen []string
	tok := ""
	for page := 0; page < 10; page++ {
		r, err := s.query.ListOrders(ctx, &queryv1.ListOrdersRequest{CustomerId: "cust-0", PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Orders {
			if o.CustomerId != "cust-0" {
				t.Fatalf("filter leaked %s", o.CustomerId)
			}
			seen = append(seen, o.OrderId)
		}
		if tok = r.NextPageToken; tok == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Fatalf("cust-0 has %d orders over pages, want 4: %v", len(seen), seen)
	}
	r, err := s.query.ListOrders(ctx, &queryv1.ListOrdersRequest{Status: queryv1.OrderStatus_ORDER_STATUS_CANCELLED, MinPosition: tokens[n-1]})
	if err != nil || len(r.Orders) != 3 {
		t.Fatalf("cancelled: %d %v", len(r.GetOrders()), err)
	}

	// daily_sales agrees: 12 placed, 6 confirmed, 3 shipped, 3 cancelled.
	var placed, confirmed, shipped, cancelled, gross, cancelledAmt int64
	waitFor(t, func() bool {
		err := s.db.QueryRow(ctx, `SELECT coalesce(sum(orders_placed),0), coalesce(sum(orders_confirmed),0), coalesce(sum(orders_shipped),0),
			coalesce(sum(orders_cancelled),0), coalesce(sum(gross_amount),0), coalesce(sum(cancelled_amount),0) FROM read.daily_sales`).
			Scan(&placed, &confirmed, &shipped, &cancelled, &gross, &cancelledAmt)
		return err == nil && placed == n && cancelled == 3 && shipped == 3 && confirmed == 6
	})
	if gross != 78*1000 || cancelledAmt != (4+8+12)*1000 {
		t.Fatalf("daily_sales gross %d cancelled %d", gross, cancelledAmt)
	}

	// Status: caught up, nothing failed.
	st, err := s.runner.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st {
		if p.Lag != 0 || p.Failures != 0 || p.Applied == 0 {
			t.Fatalf("status %+v", p)
		}
	}

	// Rebuild order_summaries from the event store while the projector runs:
	// the same rows come back, queries keep answering during it.
	before := summaries(t, s.db)
	types, _ := serde.NewRegistry(events.Types()...)
	up, _ := upcasters.New(types, upcast.Chains()...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var queryErrs int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: ids[i%n]}); err != nil {
				queryErrs++
			}
		}
	}()
	var phases []string
	prog, err := s.runner.Rebuild(ctx, s.store, up, "order_summaries", projection.RebuildOptions{BatchSize: 5, Progress: func(p projection.Progress) {
		phases = append(phases, p.Phase)
	}})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if prog.Applied != prog.Total || prog.Total != n+6+3+3 || phases[len(phases)-1] != "swapped" {
		t.Fatalf("rebuild progress %+v phases %v", prog, phases)
	}
	if queryErrs != 0 {
		t.Fatalf("%d queries failed during the rebuild", queryErrs)
	}
	after := summaries(t, s.db)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("rebuild changed the read model:\n%v\n%v", before, after)
	}
	// The projector keeps working on the swapped-in table.
	pr, err := s.orders.PlaceOrder(ctx, place("cust-9", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: pr.Result.OrderId, MinPosition: pr.Result.Position}); err != nil {
		t.Fatalf("after rebuild: %v", err)
	}
}

func summaries(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT order_id || ':' || status || ':' || total_amount || ':' || version FROM read.order_summaries ORDER BY order_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
