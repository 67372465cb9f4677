package runbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/saga"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	orderadapters "github.com/stratahq/strata/services/order/adapters"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
	"github.com/stratahq/strata/tools/strata/cli"
)

func placeRequest(customer string, products ...string) *orderv1.PlaceOrderRequest {
	req := &orderv1.PlaceOrderRequest{
		CommandId: uuid.NewString(), CustomerId: customer,
		ShippingAddress: &orderv1.Address{Recipient: "Kim", Line1: "1 Main St", City: "Seoul", PostalCode: "04524", CountryCode: "KR"},
	}
	for _, p := range products {
		req.Items = append(req.Items, &orderv1.OrderItem{ProductId: p, Quantity: 1, UnitPrice: &orderv1.Money{AmountMinor: 1000}})
	}
	return req
}

func waitSaga(t *testing.T, s *shop, id string, timeout time.Duration, want ...saga.Status) saga.Instance {
	t.Helper()
	var inst saga.Instance
	eventually(t, timeout, fmt.Sprintf("saga %s to reach %v", id, want), func() bool {
		var err error
		inst, _, err = saga.Get(context.Background(), s.pool, id)
		return err == nil && slices.Contains(want, inst.Status)
	})
	return inst
}

func traceIDOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

// readTopic returns every message of topic (from the start) within timeout.
func readTopic(t *testing.T, brokers, topic string, atLeast int, timeout time.Duration) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": brokers, "group.id": topic + ".rbprobe." + uuid.NewString()[:8],
		"auto.offset.reset": "earliest", "enable.auto.commit": false})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var out []*kafka.Message
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && len(out) < atLeast {
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestOrderFlowOneTraceOneCorrelation places an order over gRPC with a
// correlation id and follows it through the whole system: the order's stored
// events, the relay's Kafka messages, the projector's and saga's handling, the
// saga's commands, the participants' handling and their stored events, and
// the order's confirmation. Every hop must carry the one trace id (W3C
// traceparent, spans recorded by an in-memory exporter) and the one
// correlation id.
func TestOrderFlowOneTraceOneCorrelation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	s := startShop(t, payadapters.Faults{}, invadapters.Config{InitialStock: 1000})

	corr := "rb-corr-" + uuid.NewString()[:8]
	ctx, root := tp.Tracer("runbook").Start(context.Background(), "operator places an order")
	traceID := root.SpanContext().TraceID().String()
	ctx = metadata.AppendToOutgoingContext(ctx, observe.MetadataCorrelationID, corr)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := s.orders.PlaceOrder(cctx, placeRequest("trace-customer", "p-1"))
	cancel()
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	orderID := res.GetResult().GetOrderId()
	inst := waitSaga(t, s, orderID, 90*time.Second, saga.StatusCompleted, saga.StatusCompensated, saga.StatusParked)
	if inst.Status != saga.StatusCompleted {
		t.Fatalf("saga %s ended %s (%s)", orderID, inst.Status, inst.Reason)
	}
	t.Logf("order %s: trace %s, correlation %s", orderID, traceID, corr)

	// 1. Stored events of the order and of both participants.
	streams := []string{orderadapters.StreamID(orderID), payadapters.StreamID(fulfilment.PaymentID(orderID)),
		invadapters.ReservationStreamID(fulfilment.ReservationID(orderID))}
	var types []string
	eventually(t, 30*time.Second, "the order to be confirmed", func() bool {
		evs, err := s.store.ReadStream(context.Background(), streams[0], 1, 0)
		return err == nil && len(evs) >= 2
	})
	for _, stream := range streams {
		evs, err := s.store.ReadStream(context.Background(), stream, 1, 0)
		if err != nil || len(evs) == 0 {
			t.Fatalf("stream %s: %d events, %v", stream, len(evs), err)
		}
		for _, e := range evs {
			types = append(types, e.Type)
			if got := traceIDOf(e.TraceParent); got != traceID {
				t.Errorf("stored %s %s@%d: trace %q (traceparent %q), want %s", e.Type, stream, e.Version, got, e.TraceParent, traceID)
			}
			if e.CorrelationID != corr {
				t.Errorf("stored %s %s@%d: correlation %q, want %q", e.Type, stream, e.Version, e.CorrelationID, corr)
			}
			if e.CausationID == "" {
				t.Errorf("stored %s %s@%d: no causation id", e.Type, stream, e.Version)
			}
		}
	}
	for _, want := range []string{"shop.order.OrderPlaced", "shop.order.OrderConfirmed", "shop.payment.PaymentAuthorized", "shop.inventory.StockReserved"} {
		if !slices.Contains(types, want) {
			t.Errorf("no stored %s in %v", want, types)
		}
	}

	// 2. Kafka: the relay's event messages and the saga's commands.
	for _, topic := range []string{"events.order", "commands.payment", "commands.inventory", "commands.order", "events.payment"} {
		msgs := readTopic(t, s.brokers, s.prefix+topic, 1, 20*time.Second)
		if len(msgs) == 0 {
			t.Errorf("topic %s: no messages", topic)
			continue
		}
		for _, m := range msgs {
			tp, c := messaging.Header(m.Headers, messaging.HeaderTraceParent), messaging.Header(m.Headers, messaging.HeaderCorrelationID)
			if traceIDOf(tp) != traceID || c != corr {
				t.Errorf("topic %s %s: traceparent %q correlation %q; want trace %s correlation %s", topic,
					messaging.Header(m.Headers, messaging.HeaderEventType), tp, c, traceID, corr)
			}
		}
	}

	// 3. Spans: the gRPC server span and a consumer span per handling group.
	eventually(t, 10*time.Second, "spans", func() bool { return len(exp.GetSpans()) > 0 })
	var names []string
	groups := map[string]bool{}
	for _, sp := range exp.GetSpans() {
		if sp.SpanContext.TraceID().String() != traceID {
			continue
		}
		names = append(names, sp.Name)
		if sp.SpanKind == trace.SpanKindConsumer {
			for _, a := range sp.Attributes {
				if a.Key == "messaging.consumer.group.name" {
					groups[strings.TrimPrefix(a.Value.AsString(), s.prefix)+" "+strings.TrimPrefix(sp.Name, "consume ")] = true
				}
				if a.Key == "strata.correlation_id" && a.Value.AsString() != corr {
					t.Errorf("span %s: correlation %q", sp.Name, a.Value.AsString())
				}
			}
		}
	}
	if !slices.Contains(names, "order.v1.OrderService/PlaceOrder") {
		t.Errorf("no gRPC server span in the trace: %v", names)
	}
	for _, want := range []string{
		"projector shop.order.OrderPlaced", "saga-orchestrator shop.order.OrderPlaced",
		"payment shop.payment.AuthorizePayment", "saga-orchestrator shop.payment.PaymentAuthorized",
		"inventory shop.inventory.ReserveStock", "saga-orchestrator shop.inventory.StockReserved",
		"order-commands shop.order.ConfirmOrder", "projector shop.order.OrderConfirmed",
	} {
		if !groups[want] {
			t.Errorf("no consumer span %q in the trace; have %v", want, keys(groups))
		}
	}
	t.Logf("trace %s: %d spans: %v", traceID, len(names), names)

	// 4. The operator's view: strata events show prints the same ids.
	code, out := strata(t, "events", "show", orderadapters.StreamID(orderID), "--database-url", s.url)
	if code != cli.ExitOK || !strings.Contains(out, corr) || !strings.Contains(out, traceID) {
		t.Errorf("strata events show: exit %d, ids missing:\n%s", code, out)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRunbookFailedCompensation: docs/operations.md#failed-compensation.
// Payment refunds fail and a product is out of stock: the saga compensates,
// the refund keeps failing, the saga parks. strata_saga_instances{status=
// "PARKED"} shows it (alert StrataSagaStuck); after the provider is fixed,
// `strata saga retry ID` completes the compensation.
func TestRunbookFailedCompensation(t *testing.T) {
	s := startShop(t, payadapters.Faults{FailRefunds: true}, invadapters.Config{InitialStock: 1000, OutOfStockProducts: []string{"p-gone"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.orders.PlaceOrder(ctx, placeRequest("parked-customer", "p-1", "p-gone"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.GetResult().GetOrderId()
	inst := waitSaga(t, s, id, 120*time.Second, saga.StatusParked, saga.StatusCompensated, saga.StatusCompleted)
	if inst.Status != saga.StatusParked {
		t.Fatalf("saga %s: %s (%s), want PARKED", id, inst.Status, inst.Reason)
	}
	// Detect: the metric behind StrataSagaStuck.
	if v := metric(t, s.regs["saga"], "strata_saga_instances", map[string]string{"status": "PARKED"}); v != 1 {
		t.Fatalf("strata_saga_instances{status=PARKED} = %v, want 1", v)
	}
	if v := metric(t, s.regs["saga"], "strata_saga_parked_total", nil); v != 1 {
		t.Fatalf("strata_saga_parked_total = %v, want 1", v)
	}
	if code, out := strata(t, "saga", "list", "--stuck", "--database-url", s.url); code != cli.ExitFail || !strings.Contains(out, id) {
		t.Fatalf("saga list --stuck: exit %d", code)
	}
	// Recover: fix the cause, then the one command.
	s.gateway.SetFaults(payadapters.Faults{})
	if code, _ := strata(t, "saga", "retry", id, "--database-url", s.url); code != cli.ExitOK {
		t.Fatalf("saga retry: exit %d", code)
	}
	inst = waitSaga(t, s, id, 60*time.Second, saga.StatusCompensated)
	eventually(t, 10*time.Second, "the PARKED gauge to drop", func() bool {
		return metric(t, s.regs["saga"], "strata_saga_instances", map[string]string{"status": "PARKED"}) == 0
	})
	t.Logf("saga %s after retry: %s", id, inst.Status)
}
