package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/riferrei/srclient"

	avroorder "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

// sendCommand produces one saga command to the order service's command topic
// in the Confluent wire format, as the saga's outbox relay does.
func sendCommand(t *testing.T, s *stack, commandID, key string, cmd any) {
	t.Helper()
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := types.TypeOf(cmd)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := testenv.RegistryClient(t, s.registry).CreateSchema(typ.Name, typ.JSON, srclient.Avro)
	if err != nil {
		t.Fatal(err)
	}
	_, value, err := types.EncodeWire(nil, sc.ID(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": s.brokers, "acks": "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	topic := s.prefix + "commands.order"
	dr := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(key), Value: value,
		Headers: []kafka.Header{
			{Key: messaging.HeaderEventID, Value: []byte(commandID)},
			{Key: messaging.HeaderEventType, Value: []byte(typ.Name)},
			{Key: messaging.HeaderCorrelationID, Value: []byte("saga-" + key)},
			{Key: messaging.HeaderContentType, Value: []byte(messaging.ContentTypeAvro)},
		},
	}, dr)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-dr:
		if m, ok := ev.(*kafka.Message); !ok || m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery report")
	}
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
