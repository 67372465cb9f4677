package ports

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
	"github.com/stratahq/strata/services/projector/app/query"
)

// QueryServer implements queryv1.OrderQueryServiceServer.
type QueryServer struct {
	queryv1.UnimplementedOrderQueryServiceServer
	q *query.Queries
}

// NewQueryServer returns the gRPC server of q.
func NewQueryServer(q *query.Queries) *QueryServer { return &QueryServer{q: q} }

var _ queryv1.OrderQueryServiceServer = (*QueryServer)(nil)

var statusToProto = map[string]queryv1.OrderStatus{
	"PLACED": queryv1.OrderStatus_ORDER_STATUS_PLACED, "CONFIRMED": queryv1.OrderStatus_ORDER_STATUS_CONFIRMED,
	"SHIPPED": queryv1.OrderStatus_ORDER_STATUS_SHIPPED, "CANCELLED": queryv1.OrderStatus_ORDER_STATUS_CANCELLED,
}

func toProto(s query.Summary) *queryv1.OrderSummary {
	return &queryv1.OrderSummary{
		OrderId: s.OrderID, CustomerId: s.CustomerID, Status: statusToProto[s.Status],
		TotalAmountMinor: s.Total, CurrencyCode: s.Currency, ItemCount: int32(s.ItemCount),
		PlacedAt: timestamppb.New(s.PlacedAt), LastUpdated: timestamppb.New(s.LastUpdated), Version: s.Version,
	}
}

// GetOrderSummary implements the RPC.
func (s *QueryServer) GetOrderSummary(ctx context.Context, r *queryv1.GetOrderSummaryRequest) (*queryv1.GetOrderSummaryResponse, error) {
	sum, err := s.q.GetOrderSummary(ctx, r.GetOrderId(), r.GetMinPosition())
	if err != nil {
		return nil, toStatus(err)
	}
	return &queryv1.GetOrderSummaryResponse{Summary: toProto(sum)}, nil
}

// ListOrders implements the RPC.
func (s *QueryServer) ListOrders(ctx context.Context, r *queryv1.ListOrdersRequest) (*queryv1.ListOrdersResponse, error) {
	st := ""
	if r.GetStatus() != queryv1.OrderStatus_ORDER_STATUS_UNSPECIFIED {
		for k, v := range statusToProto {
			if v == r.GetStatus() {
				st = k
			}
		}
		if st == "" {
			return nil, status.Errorf(codes.InvalidArgument, "unknown status %v", r.GetStatus())
		}
	}
	rows, next, err := s.q.ListOrders(ctx, query.List{
		Status: st, CustomerID: r.GetCustomerId(), PageSize: int(r.GetPageSize()),
		PageToken: r.GetPageToken(), MinPosition: r.GetMinPosition(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &queryv1.ListOrdersResponse{NextPageToken: next, Orders: make([]*queryv1.OrderSummary, len(rows))}
	for i, row := range rows {
		resp.Orders[i] = toProto(row)
	}
	return resp, nil
}

func toStatus(err error) error {
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, query.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, query.ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, query.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, query.ErrNotReached):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.As(err, &ce) || pgconn.SafeToRetry(err):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}
