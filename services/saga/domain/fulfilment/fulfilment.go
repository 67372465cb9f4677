package fulfilment

import (
	"encoding/json"
	"fmt"
	"time"

	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	orderev "github.com/stratahq/strata/gen/avro/order"
	paymentev "github.com/stratahq/strata/gen/avro/payment"
	sagaev "github.com/stratahq/strata/gen/avro/saga"
	"github.com/stratahq/strata/saga"
)

// SagaType names the order-fulfilment saga in the saga tables.
const SagaType = "order-fulfilment"

// Step names.
const (
	StepPlaceOrder     = "place_order"
	StepProcessPayment = "process_payment"
	StepReserveStock   = "reserve_stock"
	StepConfirmOrder   = "confirm_order"
)

// Command topics.
const (
	TopicOrder     = "commands.order"
	TopicPayment   = "commands.payment"
	TopicInventory = "commands.inventory"
	// TopicOutcomes carries FulfilmentCompleted, FulfilmentFailed and
	// FulfilmentParked, written through the saga outbox.
	TopicOutcomes = "events.saga"
)

// Item is one order line.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Data is the saga's input, taken from OrderPlaced.
type Data struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Items      []Item `json:"items"`
	Total      int64  `json:"total"`
	Currency   string `json:"currency"`
}

// FromOrderPlaced returns the saga input of an order.
func FromOrderPlaced(e *orderev.OrderPlaced) Data {
	d := Data{OrderID: e.OrderID, CustomerID: e.CustomerID, Total: e.TotalAmount, Currency: e.Currency}
	for _, it := range e.Items {
		d.Items = append(d.Items, Item{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
	}
	return d
}

// PaymentID is the id of the payment the saga asks for an order.
func PaymentID(orderID string) string { return "pay-" + orderID }

// ReservationID is the id of the stock reservation the saga asks for an order.
func ReservationID(orderID string) string { return "res-" + orderID }

// Timeouts bound the wait for each reply.
type Timeouts struct {
	Payment, Inventory, Order time.Duration // actions; 0: 30s
	Compensation              time.Duration // every compensation; 0: 30s
}

// Definition returns the saga definition.
func Definition(t Timeouts) *saga.Definition {
	return &saga.Definition{
		Type: SagaType,
		// Bump for a change in-flight sagas must not see, and register the
		// old version beside the new one (docs/sagas.md, "Changing a saga
		// definition while instances are in flight").
		Version: 1,
		Timeout: 30 * time.Second,
		Steps: []saga.Step{
			{Name: StepPlaceOrder, Compensation: withData(cancelOrder), CompensationTimeout: t.Compensation},
			{Name: StepProcessPayment, Action: withData(authorizePayment), Compensation: withData(refundPayment),
				Timeout: t.Payment, CompensationTimeout: t.Compensation},
			{Name: StepReserveStock, Action: withData(reserveStock), Compensation: withData(releaseStock),
				Timeout: t.Inventory, CompensationTimeout: t.Compensation},
			{Name: StepConfirmOrder, Action: withData(confirmOrder), Timeout: t.Order},
		},
		OnOutcome: announce,
	}
}

// announce builds the outcome event of a saga that ended or parked.
func announce(o saga.Outcome) ([]saga.Command, error) {
	var d Data
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return nil, fmt.Errorf("fulfilment data of %s: %w", o.SagaID, err)
	}
	c := saga.Command{Topic: TopicOutcomes}
	switch o.Status {
	case saga.StatusCompleted:
		c.Type, c.Value = "shop.saga.FulfilmentCompleted", &sagaev.FulfilmentCompleted{SagaID: o.SagaID, OrderID: d.OrderID, CompletedAt: o.At}
	case saga.StatusCompensated:
		c.Type, c.Value = "shop.saga.FulfilmentFailed", &sagaev.FulfilmentFailed{SagaID: o.SagaID, OrderID: d.OrderID,
			FailedStep: o.FailedStep, Reason: o.Reason, FailedAt: o.At}
	case saga.StatusParked:
		c.Type, c.Value = "shop.saga.FulfilmentParked", &sagaev.FulfilmentParked{SagaID: o.SagaID, OrderID: d.OrderID,
			CompensationStep: o.Step, Reason: o.Reason, ParkedAt: o.At}
	default:
		return nil, fmt.Errorf("fulfilment %s: no outcome event for status %s", o.SagaID, o.Status)
	}
	return []saga.Command{c}, nil
}

func withData(f func(d Data, c saga.Call) saga.Command) saga.Builder {
	return func(c saga.Call) (saga.Command, error) {
		var d Data
		if err := json.Unmarshal(c.Data, &d); err != nil {
			return saga.Command{}, fmt.Errorf("fulfilment data of %s: %w", c.SagaID, err)
		}
		return f(d, c), nil
	}
}

func reason(c saga.Call) string {
	if c.Reason == "" {
		return "order fulfilment failed"
	}
	return "order fulfilment failed: " + c.Reason
}

func cancelOrder(d Data, c saga.Call) saga.Command {
	return saga.Command{Topic: TopicOrder, Type: "shop.order.CancelOrder",
		Value: &orderev.CancelOrder{OrderID: d.OrderID, Reason: reason(c)}}
}

func authorizePayment(d Data, _ saga.Call) saga.Command {
	return saga.Command{Topic: TopicPayment, Type: "shop.payment.AuthorizePayment",
		Value: &paymentev.AuthorizePayment{PaymentID: PaymentID(d.OrderID), OrderID: d.OrderID, CustomerID: d.CustomerID,
			Amount: d.Total, Currency: d.Currency}}
}

func refundPayment(d Data, c saga.Call) saga.Command {
	return saga.Command{Topic: TopicPayment, Type: "shop.payment.RefundPayment",
		Value: &paymentev.RefundPayment{PaymentID: PaymentID(d.OrderID), OrderID: d.OrderID, Amount: d.Total,
			Currency: d.Currency, Reason: reason(c)}}
}

func reserveStock(d Data, _ saga.Call) saga.Command {
	items := make([]inventoryev.StockItem, len(d.Items))
	for i, it := range d.Items {
		items[i] = inventoryev.StockItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return saga.Command{Topic: TopicInventory, Type: "shop.inventory.ReserveStock",
		Value: &inventoryev.ReserveStock{ReservationID: ReservationID(d.OrderID), OrderID: d.OrderID, Items: items}}
}

func releaseStock(d Data, c saga.Call) saga.Command {
	return saga.Command{Topic: TopicInventory, Type: "shop.inventory.ReleaseStock",
		Value: &inventoryev.ReleaseStock{ReservationID: ReservationID(d.OrderID), OrderID: d.OrderID, Reason: reason(c)}}
}

func confirmOrder(d Data, _ saga.Call) saga.Command {
	return saga.Command{Topic: TopicOrder, Type: "shop.order.ConfirmOrder",
		Value: &orderev.ConfirmOrder{OrderID: d.OrderID, PaymentID: PaymentID(d.OrderID), ReservationID: ReservationID(d.OrderID)}}
}

// Stream types whose events answer the saga. Inventory writes the same
// event types to product stock streams (type "stock", one product each):
// those are not answers.
const (
	StreamTypeOrder     = "order"
	StreamTypePayment   = "payment"
	StreamTypeInventory = "inventory"
	// StreamTypeReplies: a participant's answer to a repeated command, a
	// copy of the outcome it recorded (package saga/answer).
	StreamTypeReplies = "replies"
)

// ReplyOf translates a participant's event, read from a stream of
// streamType, into the saga reply it is, with causationID (the command id
// the event was caused by, "" when unknown). ok is false for events that
// answer nothing (e.g. StockReceived, or any event of a product stock stream).
func ReplyOf(streamType string, ev any, causationID string) (saga.Reply, bool, error) {
	r := saga.Reply{CommandID: causationID, Kind: saga.KindAction}
	switch streamType {
	case StreamTypeOrder, StreamTypePayment, StreamTypeInventory, StreamTypeReplies:
	default:
		return r, false, nil
	}
	switch e := ev.(type) {
	case *paymentev.PaymentAuthorized:
		r.SagaID, r.Step, r.Success = e.OrderID, StepProcessPayment, true
	case *paymentev.PaymentFailed:
		r.SagaID, r.Step, r.Reason = e.OrderID, StepProcessPayment, "payment failed: "+e.Reason
	case *paymentev.PaymentRefunded:
		r.SagaID, r.Step, r.Kind, r.Success = e.OrderID, StepProcessPayment, saga.KindCompensation, true
	case *paymentev.PaymentRefundFailed:
		r.SagaID, r.Step, r.Kind, r.Reason = e.OrderID, StepProcessPayment, saga.KindCompensation, "refund failed: "+e.Reason
	case *inventoryev.StockReserved:
		r.SagaID, r.Step, r.Success = e.OrderID, StepReserveStock, true
	case *inventoryev.StockReservationFailed:
		r.SagaID, r.Step, r.Reason = e.OrderID, StepReserveStock, "stock reservation failed: "+e.Reason
	case *inventoryev.StockReleased:
		r.SagaID, r.Step, r.Kind, r.Success = e.OrderID, StepReserveStock, saga.KindCompensation, true
	case *orderev.OrderConfirmed:
		r.SagaID, r.Step, r.Success = e.OrderID, StepConfirmOrder, true
	case *orderev.OrderCancelled:
		r.SagaID, r.Step, r.Kind, r.Success = e.OrderID, StepPlaceOrder, saga.KindCompensation, true
	case *inventoryev.StockReceived, *orderev.OrderPlaced, *orderev.OrderShipped:
		return r, false, nil
	default:
		return r, false, fmt.Errorf("fulfilment: no reply for event %T", ev)
	}
	return r, true, nil
}
