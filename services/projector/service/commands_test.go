package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	avroorder "github.com/stratahq/strata/gen/avro/order"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/shoptest"
)

// sendCommand produces one saga command to the order service's command topic
// in the Confluent wire format, as the saga's outbox relay does.
func sendCommand(t *testing.T, s *stack, commandID, key string, cmd any) {
	t.Helper()
	shoptest.ProduceCommand(t, s.brokers, s.registry, s.prefix+"commands.order", commandID, key, "saga-"+key, cmd)
}

// The saga's ConfirmOrder and CancelOrder commands arrive over Kafka; a
// redelivered command appends nothing; a command the state forbids is
// acknowledged without effect.
func TestSagaCommandsOverKafka(t *testing.T) {
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	a, err := s.orders.PlaceOrder(ctx, place("cust-a", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.orders.PlaceOrder(ctx, place("cust-b", 2))
	if err != nil {
		t.Fatal(err)
	}
	idA, idB := a.Result.OrderId, b.Result.OrderId
	confirmID := uuid.NewString()
	sendCommand(t, s, confirmID, "saga-a", &avroorder.ConfirmOrder{OrderID: idA, PaymentID: "pay-a", ReservationID: "res-a"})
	sendCommand(t, s, confirmID, "saga-a", &avroorder.ConfirmOrder{OrderID: idA, PaymentID: "pay-a", ReservationID: "res-a"}) // redelivery
	sendCommand(t, s, uuid.NewString(), "saga-b", &avroorder.CancelOrder{OrderID: idB, Reason: "payment declined"})
	sendCommand(t, s, uuid.NewString(), "saga-b", &avroorder.ConfirmOrder{OrderID: idB, PaymentID: "late", ReservationID: "late"}) // forbidden: acknowledged

	waitStatus := func(id string, want orderv1.OrderStatus, version int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := s.orders.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
			if err == nil && r.Order.Status == want && r.Order.Version == version {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s: %v %v, want %v v%d", id, r.GetOrder().GetStatus(), err, want, version)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus(idA, orderv1.OrderStatus_ORDER_STATUS_CONFIRMED, 2)
	waitStatus(idB, orderv1.OrderStatus_ORDER_STATUS_CANCELLED, 2)
	// The events reach the read model with the saga's correlation id.
	var corr string
	if err := s.db.QueryRow(ctx, `SELECT correlation_id FROM events WHERE stream_id = $1 AND version = 2`, "order-"+idA).Scan(&corr); err != nil || corr != "saga-saga-a" {
		t.Fatalf("correlation id %q %v", corr, err)
	}
	// Give the redelivered and the forbidden command time to be processed, then check nothing more was appended.
	time.Sleep(2 * time.Second)
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id IN ($1, $2)`, "order-"+idA, "order-"+idB).Scan(&n); err != nil || n != 4 {
		t.Fatalf("events %d %v, want 4", n, err)
	}
}
