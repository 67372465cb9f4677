// Package adapters reaches the shop's gRPC APIs for the web front: commands
// go to the order service, reads to the projector's query API.
package adapters

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/services/shopweb/ports"
)

// Shop calls the order service and the query service.
type Shop struct {
	orders orderv1.OrderServiceClient
	query  queryv1.OrderQueryServiceClient
	conns  []*grpc.ClientConn
}

var _ ports.Shop = (*Shop)(nil)

// Dial connects to the order service at orderAddr and the query service at
// queryAddr (plaintext on loopback; the stack's services run without TLS).
func Dial(orderAddr, queryAddr string) (*Shop, error) {
	opts := append(observe.GRPCClientOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	oc, err := grpc.NewClient(orderAddr, opts...)
	if err != nil {
		return nil, fmt.Errorf("order service %s: %w", orderAddr, err)
	}
	qc, err := grpc.NewClient(queryAddr, opts...)
	if err != nil {
		oc.Close()
		return nil, fmt.Errorf("query service %s: %w", queryAddr, err)
	}
	return &Shop{orders: orderv1.NewOrderServiceClient(oc), query: queryv1.NewOrderQueryServiceClient(qc), conns: []*grpc.ClientConn{oc, qc}}, nil
}

// Close closes both connections.
func (s *Shop) Close() error {
	for _, c := range s.conns {
		c.Close()
	}
	return nil
}

func (s *Shop) Place(ctx context.Context, req *orderv1.PlaceOrderRequest) (*orderv1.CommandResult, error) {
	res, err := s.orders.PlaceOrder(ctx, req)
	return res.GetResult(), err
}

func (s *Shop) Confirm(ctx context.Context, req *orderv1.ConfirmOrderRequest) (*orderv1.CommandResult, error) {
	res, err := s.orders.ConfirmOrder(ctx, req)
	return res.GetResult(), err
}

func (s *Shop) Ship(ctx context.Context, req *orderv1.ShipOrderRequest) (*orderv1.CommandResult, error) {
	res, err := s.orders.ShipOrder(ctx, req)
	return res.GetResult(), err
}

func (s *Shop) Cancel(ctx context.Context, req *orderv1.CancelOrderRequest) (*orderv1.CommandResult, error) {
	res, err := s.orders.CancelOrder(ctx, req)
	return res.GetResult(), err
}

func (s *Shop) Order(ctx context.Context, id string) (*orderv1.Order, error) {
	res, err := s.orders.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
	return res.GetOrder(), err
}

func (s *Shop) Summary(ctx context.Context, id, minPosition string) (*queryv1.OrderSummary, error) {
	res, err := s.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: id, MinPosition: minPosition})
	return res.GetSummary(), err
}

func (s *Shop) List(ctx context.Context, customer string, n int) ([]*queryv1.OrderSummary, error) {
	res, err := s.query.ListOrders(ctx, &queryv1.ListOrdersRequest{CustomerId: customer, PageSize: int32(n)})
	return res.GetOrders(), err
}
