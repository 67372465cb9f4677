package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/bootstrap/bootstraptest"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/service"
)

// startOrder runs the order service on a real 127.0.0.1 listener against a
// throwaway database and returns a client.
func startOrder(t *testing.T, mutate func(*service.Config)) (orderv1.OrderServiceClient, *grpc.ClientConn, string) {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	cfg := service.Config{
		DatabaseURL: dbURL, GRPCAddr: "127.0.0.1:0", Commands: command.DefaultConfig,
		OutOfStock: []string{"sold-out"}, CreditLimit: 10_000_000, Registry: observe.NewRegistry(),
		Tracing: observe.TracingConfig{Service: "order-test", Exporter: "none"},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ready := make(chan string, 1)
	cfg.Ready = func(addr, _ string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("service did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("service did not start in 30s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service: %v", err)
		}
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return orderv1.NewOrderServiceClient(conn), conn, dbURL
}

func placeReq(cmd string) *orderv1.PlaceOrderRequest {
	return &orderv1.PlaceOrderRequest{
		CommandId: cmd, CustomerId: "cust-1", CurrencyCode: "KRW",
		Items: []*orderv1.OrderItem{
			{ProductId: "p-1", Quantity: 2, UnitPrice: &orderv1.Money{CurrencyCode: "KRW", AmountMinor: 15000}},
			{ProductId: "p-2", Quantity: 1, UnitPrice: &orderv1.Money{AmountMinor: 5000}},
		},
		ShippingAddress: &orderv1.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	}
}

func code(err error) codes.Code { return status.Code(err) }

func TestOrderServiceOverLoopback(t *testing.T) {
	c, conn, dbURL := startOrder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "order.v1.OrderService"})
	if err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}

	mdCtx := metadata.AppendToOutgoingContext(ctx, "x-correlation-id", "corr-42", "x-user-id", "user-7")
	cmdID := uuid.NewString()
	r1, err := c.PlaceOrder(mdCtx, placeReq(cmdID))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Result.Version != 1 || r1.Result.Position == "" || r1.Result.OrderId == "" {
		t.Fatalf("place result %+v", r1.Result)
	}
	// A retried PlaceOrder returns the same order and creates nothing new.
	r2, err := c.PlaceOrder(ctx, placeReq(cmdID))
	if err != nil || r2.Result.OrderId != r1.Result.OrderId || r2.Result.Version != 1 {
		t.Fatalf("retry: %+v %v", r2.GetResult(), err)
	}
	id := r1.Result.OrderId
	got, err := c.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
	if err != nil {
		t.Fatal(err)
	}
	if o := got.Order; o.Status != orderv1.OrderStatus_ORDER_STATUS_PLACED || o.Total.AmountMinor != 35000 || o.Version != 1 || len(o.Items) != 2 {
		t.Fatalf("order %+v", o)
	}
	// Metadata stored with the event; the x-user-id header is not an
	// identity, so no user id is stored (TestOrderUserFromVerifiedToken).
	conn2, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close(ctx)
	var n int
	var corr, caus, user, tp string
	if err := conn2.QueryRow(ctx, `SELECT count(*) OVER (), correlation_id, causation_id, coalesce(user_id, ''), coalesce(traceparent, '') FROM events WHERE stream_id = $1`, "order-"+id).
		Scan(&n, &corr, &caus, &user, &tp); err != nil {
		t.Fatal(err)
	}
	if n != 1 || corr != "corr-42" || caus != cmdID || user != "" || len(tp) != 55 {
		t.Fatalf("events %d, metadata corr=%q caus=%q user=%q traceparent=%q", n, corr, caus, user, tp)
	}

	// Validation: InvalidArgument with field violations.
	bad := placeReq(uuid.NewString())
	bad.Items[0].Quantity = 0
	bad.Items[1].UnitPrice.CurrencyCode = "USD"
	_, err = c.PlaceOrder(ctx, bad)
	if code(err) != codes.InvalidArgument {
		t.Fatalf("invalid: %v", err)
	}
	fields := map[string]bool{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.FieldViolations {
				fields[v.Field] = true
			}
		}
	}
	if !fields["items[0].quantity"] || !fields["items[1].unit_price.currency_code"] {
		t.Fatalf("field violations %v", fields)
	}
	// Stock check refuses.
	sold := placeReq(uuid.NewString())
	sold.Items[0].ProductId = "sold-out"
	if _, err = c.PlaceOrder(ctx, sold); code(err) != codes.FailedPrecondition {
		t.Fatalf("out of stock: %v", err)
	}
	// Ship before confirmation: FailedPrecondition.
	if _, err = c.ShipOrder(ctx, &orderv1.ShipOrderRequest{CommandId: uuid.NewString(), OrderId: id, Carrier: "CJ", TrackingNumber: "T"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("ship placed: %v", err)
	}
	// Unknown order: NotFound.
	if _, err = c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: uuid.NewString()}); code(err) != codes.NotFound {
		t.Fatalf("unknown: %v", err)
	}
	// Stale expected_version: Aborted.
	if _, err = c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: id, ExpectedVersion: 7}); code(err) != codes.Aborted {
		t.Fatalf("stale expected version: %v", err)
	}
	confirmID := uuid.NewString()
	cr, err := c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: confirmID, OrderId: id, PaymentId: "pay", ReservationId: "res", ExpectedVersion: 1})
	if err != nil || cr.Result.Version != 2 {
		t.Fatalf("confirm: %v %v", cr, err)
	}
	// The same confirm retried: same result, no new event.
	cr2, err := c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: confirmID, OrderId: id, PaymentId: "pay", ReservationId: "res"})
	if err != nil || cr2.Result.Version != 2 || cr2.Result.Position != cr.Result.Position {
		t.Fatalf("confirm retry: %v %v", cr2, err)
	}
	if _, err = c.ShipOrder(ctx, &orderv1.ShipOrderRequest{CommandId: uuid.NewString(), OrderId: id, Carrier: "CJ", TrackingNumber: "T1"}); err != nil {
		t.Fatal(err)
	}
	if _, err = c.CancelOrder(ctx, &orderv1.CancelOrderRequest{CommandId: uuid.NewString(), OrderId: id, Reason: "late"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel shipped: %v", err)
	}
	got, _ = c.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
	if got.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_SHIPPED || got.Order.Version != 3 || got.Order.Carrier != "CJ" {
		t.Fatalf("final %+v", got.GetOrder())
	}
}

// 50 clients confirm and cancel one order at once: exactly one of each
// conflicting pair wins per version, and the final state agrees with the
// event history.
func TestConcurrentConfirmAndCancel(t *testing.T) {
	c, _, dbURL := startOrder(t, func(cfg *service.Config) {
		cfg.Commands = command.Config{MaxConflictRetries: 10, RetryBackoff: time.Millisecond}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := 0; round < 3; round++ {
		r, err := c.PlaceOrder(ctx, placeReq(uuid.NewString()))
		if err != nil {
			t.Fatal(err)
		}
		id := r.Result.OrderId
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := map[string]int{}
		outcomes := map[codes.Code]int{}
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				kind := "confirm"
				if i%2 == 0 {
					_, err = c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: uuid.NewString(), OrderId: id, PaymentId: fmt.Sprint("pay-", i), ReservationId: "r"})
				} else {
					kind = "cancel"
					_, err = c.CancelOrder(ctx, &orderv1.CancelOrderRequest{CommandId: uuid.NewString(), OrderId: id, Reason: fmt.Sprint("client ", i)})
				}
				mu.Lock()
				defer mu.Unlock()
				outcomes[code(err)]++
				if err == nil {
					wins[kind]++
				}
			}()
		}
		wg.Wait()
		for k := range outcomes {
			if k != codes.OK && k != codes.FailedPrecondition && k != codes.Aborted {
				t.Fatalf("unexpected outcome %v (all %v)", k, outcomes)
			}
		}
		// Legal histories: Placed,Cancelled | Placed,Confirmed | Placed,Confirmed,Cancelled.
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, `SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version`, "order-"+id)
		if err != nil {
			t.Fatal(err)
		}
		types, err := pgx.CollectRows(rows, pgx.RowTo[string])
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
		if err != nil {
			t.Fatal(err)
		}
		hist := fmt.Sprint(types)
		want := map[string]orderv1.OrderStatus{
			"[shop.order.OrderPlaced shop.order.OrderCancelled]":                           orderv1.OrderStatus_ORDER_STATUS_CANCELLED,
			"[shop.order.OrderPlaced shop.order.OrderConfirmed]":                           orderv1.OrderStatus_ORDER_STATUS_CONFIRMED,
			"[shop.order.OrderPlaced shop.order.OrderConfirmed shop.order.OrderCancelled]": orderv1.OrderStatus_ORDER_STATUS_CANCELLED,
		}
		st, ok := want[hist]
		if !ok {
			t.Fatalf("illegal history %s", hist)
		}
		if got.Order.Status != st || got.Order.Version != int64(len(types)) {
			t.Fatalf("state %v v%d disagrees with history %s", got.Order.Status, got.Order.Version, hist)
		}
		// Every successful command is one event: no lost update, no double apply.
		if wins["confirm"]+wins["cancel"] != len(types)-1 || wins["confirm"] > 1 || wins["cancel"] > 1 {
			t.Fatalf("wins %v but history %s", wins, hist)
		}
		t.Logf("round %d: history %s, outcomes %v", round, hist, outcomes)
	}
}

func TestUnavailableStore(t *testing.T) {
	// A database URL nothing listens on: Run fails fast at migration time
	// with an error that says so.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := service.Run(ctx, service.Config{DatabaseURL: "postgres://x:y@127.0.0.1:1/db?connect_timeout=2", GRPCAddr: "127.0.0.1:0", Registry: observe.NewRegistry()})
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run with no database: %v", err)
	}
}

// The user id stored with an order's events is the verified caller's (the
// bearer token's subject), never the x-user-id header the client sets.
func TestOrderUserFromVerifiedToken(t *testing.T) {
	iss := bootstraptest.NewIssuer(t)
	c, conn, dbURL := startOrder(t, func(cfg *service.Config) { cfg.GRPC.JWKSURL = iss.URL })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	forged := metadata.AppendToOutgoingContext(ctx, "x-user-id", "mallory")
	if _, err := c.PlaceOrder(forged, placeReq(uuid.NewString())); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("PlaceOrder without a token: %v, want Unauthenticated", err)
	}
	if hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health without a token: %v %v", hc, err)
	}
	r, err := c.PlaceOrder(iss.Context(t, forged, "user-7"), placeReq(uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var user string
	if err := db.QueryRow(ctx, `SELECT user_id FROM events WHERE stream_id = $1`, "order-"+r.Result.OrderId).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != "user-7" {
		t.Fatalf("stored user id %q, want user-7 from the token", user)
	}
}
