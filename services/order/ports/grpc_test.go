package ports_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/app/query"
	"github.com/stratahq/strata/services/order/ports"
)

// With PostgreSQL unreachable, commands and reads answer UNAVAILABLE.
func TestStoreUnreachableIsUnavailable(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://x:y@127.0.0.1:1/db?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	stream := adapters.NewOrderStream(store, types, adapters.NewStoreDecoder(store, types, nil))
	h := command.New(stream, adapters.NewStockCheck(), adapters.NewCreditCheck(0), time.Now, command.DefaultConfig)
	srv := grpc.NewServer()
	orderv1.RegisterOrderServiceServer(srv, ports.NewOrderServer(h, query.NewGetOrder(stream)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := orderv1.NewOrderServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.ConfirmOrder(ctx, &orderv1.ConfirmOrderRequest{CommandId: "c", OrderId: "o"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("confirm: %v", err)
	}
	if _, err := c.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: "o"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("get: %v", err)
	}
}
