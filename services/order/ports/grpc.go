package ports

import (
	"context"
	"errors"
	"strconv"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/timestamppb"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/services/order/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/app/query"
	"github.com/stratahq/strata/services/order/domain/order"
)

// OrderServer implements orderv1.OrderServiceServer.
type OrderServer struct {
	orderv1.UnimplementedOrderServiceServer
	cmd *command.Handlers
	get query.GetOrder
}

var _ orderv1.OrderServiceServer = (*OrderServer)(nil)

// NewOrderServer returns the gRPC server over the use cases.
func NewOrderServer(cmd *command.Handlers, get query.GetOrder) *OrderServer {
	return &OrderServer{cmd: cmd, get: get}
}

func meta(ctx context.Context, commandID string, expected int64) command.Meta {
	if commandID == "" {
		commandID = uuid.NewString() // no idempotency without a client id
	}
	corr := observe.CorrelationID(ctx)
	if corr == "" {
		corr = uuid.NewString()
	}
	return command.Meta{
		CommandID: commandID, CorrelationID: corr, UserID: observe.UserID(ctx),
		TraceParent: observe.TraceParent(ctx), ExpectedVersion: expected,
	}
}

func result(r command.Result) *orderv1.CommandResult {
	tok := projection.Token{StreamID: adapters.StreamID(r.Position.StreamID), Version: r.Position.Version, Cursor: r.Position.Cursor}
	return &orderv1.CommandResult{OrderId: r.Order.ID(), Version: r.Position.Version, Position: tok.String()}
}

var methodFromProto = map[orderv1.ShippingMethod]string{
	orderv1.ShippingMethod_SHIPPING_METHOD_UNSPECIFIED: "", orderv1.ShippingMethod_SHIPPING_METHOD_STANDARD: "STANDARD",
	orderv1.ShippingMethod_SHIPPING_METHOD_EXPRESS: "EXPRESS", orderv1.ShippingMethod_SHIPPING_METHOD_PICKUP: "PICKUP",
}

// PlaceOrder implements the RPC.
func (s *OrderServer) PlaceOrder(ctx context.Context, r *orderv1.PlaceOrderRequest) (*orderv1.PlaceOrderResponse, error) {
	cur := r.GetCurrencyCode()
	if cur == "" {
		cur = order.DefaultCurrency
	}
	var bad []order.FieldViolation
	c := order.PlaceOrder{CustomerID: r.GetCustomerId(), Currency: r.GetCurrencyCode(), Items: make([]order.Item, len(r.GetItems()))}
	for i, it := range r.GetItems() {
		if pc := it.GetUnitPrice().GetCurrencyCode(); pc != "" && pc != cur {
			bad = append(bad, order.FieldViolation{Field: "items[" + strconv.Itoa(i) + "].unit_price.currency_code", Description: "must be the order's currency " + cur + ", got " + pc})
		}
		c.Items[i] = order.Item{ProductID: it.GetProductId(), Quantity: int(it.GetQuantity()), UnitPrice: it.GetUnitPrice().GetAmountMinor()}
	}
	m, ok := methodFromProto[r.GetShippingMethod()]
	if !ok {
		bad = append(bad, order.FieldViolation{Field: "shipping_method", Description: "unknown shipping method"})
	}
	c.ShippingMethod = m
	if a := r.GetShippingAddress(); a != nil {
		c.Address = order.Address{Recipient: a.GetRecipient(), Line1: a.GetLine1(), Line2: a.GetLine2(), City: a.GetCity(), PostalCode: a.GetPostalCode(), CountryCode: a.GetCountryCode()}
	}
	if len(bad) > 0 {
		if err := c.Validate(); err != nil {
			var ve *order.ValidationError
			if errors.As(err, &ve) {
				bad = append(bad, ve.Violations...)
			}
		}
		return nil, toStatus(&order.ValidationError{Violations: bad})
	}
	res, err := s.cmd.PlaceOrder(ctx, meta(ctx, r.GetCommandId(), 0), c)
	if err != nil {
		return nil, toStatus(err)
	}
	return &orderv1.PlaceOrderResponse{Result: result(res)}, nil
}

// ConfirmOrder implements the RPC.
func (s *OrderServer) ConfirmOrder(ctx context.Context, r *orderv1.ConfirmOrderRequest) (*orderv1.ConfirmOrderResponse, error) {
	res, err := s.cmd.ConfirmOrder(ctx, meta(ctx, r.GetCommandId(), r.GetExpectedVersion()), r.GetOrderId(), r.GetPaymentId(), r.GetReservationId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &orderv1.ConfirmOrderResponse{Result: result(res)}, nil
}

// ShipOrder implements the RPC.
func (s *OrderServer) ShipOrder(ctx context.Context, r *orderv1.ShipOrderRequest) (*orderv1.ShipOrderResponse, error) {
	res, err := s.cmd.ShipOrder(ctx, meta(ctx, r.GetCommandId(), r.GetExpectedVersion()), r.GetOrderId(), r.GetCarrier(), r.GetTrackingNumber())
	if err != nil {
		return nil, toStatus(err)
	}
	return &orderv1.ShipOrderResponse{Result: result(res)}, nil
}

// CancelOrder implements the RPC.
func (s *OrderServer) CancelOrder(ctx context.Context, r *orderv1.CancelOrderRequest) (*orderv1.CancelOrderResponse, error) {
	res, err := s.cmd.CancelOrder(ctx, meta(ctx, r.GetCommandId(), r.GetExpectedVersion()), r.GetOrderId(), r.GetReason())
	if err != nil {
		return nil, toStatus(err)
	}
	return &orderv1.CancelOrderResponse{Result: result(res)}, nil
}

var statusToProto = map[order.Status]orderv1.OrderStatus{
	order.Placed: orderv1.OrderStatus_ORDER_STATUS_PLACED, order.Confirmed: orderv1.OrderStatus_ORDER_STATUS_CONFIRMED,
	order.Shipped: orderv1.OrderStatus_ORDER_STATUS_SHIPPED, order.Cancelled: orderv1.OrderStatus_ORDER_STATUS_CANCELLED,
}

var methodToProto = map[string]orderv1.ShippingMethod{
	"STANDARD": orderv1.ShippingMethod_SHIPPING_METHOD_STANDARD, "EXPRESS": orderv1.ShippingMethod_SHIPPING_METHOD_EXPRESS,
	"PICKUP": orderv1.ShippingMethod_SHIPPING_METHOD_PICKUP,
}

// GetOrder implements the RPC.
func (s *OrderServer) GetOrder(ctx context.Context, r *orderv1.GetOrderRequest) (*orderv1.GetOrderResponse, error) {
	if r.GetOrderId() == "" {
		return nil, toStatus(&order.ValidationError{Violations: []order.FieldViolation{{Field: "order_id", Description: "must not be empty"}}})
	}
	l, err := s.get.Handle(ctx, r.GetOrderId())
	if err != nil {
		return nil, toStatus(err)
	}
	o := l.Order
	carrier, tracking := o.Shipment()
	a := o.Address()
	out := &orderv1.Order{
		OrderId: o.ID(), CustomerId: o.CustomerID(), Status: statusToProto[o.Status()],
		Total: &orderv1.Money{CurrencyCode: o.Currency(), AmountMinor: o.Total()}, ShippingMethod: methodToProto[o.ShippingMethod()],
		ShippingAddress: &orderv1.Address{Recipient: a.Recipient, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, CountryCode: a.CountryCode},
		PlacedAt:        timestamppb.New(o.PlacedAt()), Carrier: carrier, TrackingNumber: tracking, CancelReason: o.CancelReason(), Version: o.Version(),
	}
	for _, it := range o.Items() {
		out.Items = append(out.Items, &orderv1.OrderItem{ProductId: it.ProductID, Quantity: int32(it.Quantity), UnitPrice: &orderv1.Money{CurrencyCode: o.Currency(), AmountMinor: it.UnitPrice}})
	}
	return &orderv1.GetOrderResponse{Order: out}, nil
}

// toStatus maps a use-case error to its gRPC status (the only place codes are chosen).
func toStatus(err error) error {
	var ve *order.ValidationError
	var se *order.StateError
	var rj *command.RejectedError
	switch {
	case errors.As(err, &ve):
		br := &errdetails.BadRequest{}
		for _, v := range ve.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		return withDetails(codes.InvalidArgument, err, br)
	case errors.Is(err, order.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.As(err, &se):
		return withDetails(codes.FailedPrecondition, err, &errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: "STATE", Subject: se.State.String(), Description: se.Error(),
		}}})
	case errors.As(err, &rj):
		typ := "STOCK"
		if rj.Check == "credit" {
			typ = "CREDIT"
		}
		return withDetails(codes.FailedPrecondition, err, &errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: typ, Subject: rj.Subject, Description: rj.Reason,
		}}})
	case errors.Is(err, order.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, command.ErrConflict):
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, command.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func withDetails(c codes.Code, err error, d ...protoadapt.MessageV1) error {
	st := status.New(c, err.Error())
	for _, x := range d {
		if s2, e := st.WithDetails(x); e == nil {
			st = s2
		}
	}
	return st.Err()
}
