package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/observe"
)

// The consumer hook continues the message's trace, and a handler's log lines
// carry the message's correlation id, its event id as causation id and the
// trace id.
func TestConsumerHookTraceAndLogContext(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(prev)

	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	env := messaging.Envelope{Topic: "events.order", Partition: 2, Offset: 7, Key: "order-1", EventID: "ev-1",
		EventType: "shop.order.OrderPlaced", CorrelationID: "corr-1", TraceParent: parent, UserID: "u-1", Attempt: 1}
	ctx, done := observe.ConsumerHook("projector")(context.Background(), env)
	var buf bytes.Buffer
	observe.NewLogger(&buf, slog.LevelInfo).InfoContext(ctx, "applied")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["correlation_id"] != "corr-1" || rec["causation_id"] != "ev-1" || rec["user_id"] != "u-1" ||
		rec["trace_id"] != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("log record = %v", rec)
	}
	if tp := observe.TraceParent(ctx); tp == parent || len(tp) != len(parent) || tp[3:35] != parent[3:35] {
		t.Fatalf("traceparent for the next hop = %q: want the same trace, a new span", tp)
	}
	done(errors.New("boom"))
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "consume shop.order.OrderPlaced" || spans[0].Parent.SpanID().String() != "b7ad6b7169203331" ||
		spans[0].Status.Code != codes.Error {
		t.Fatalf("spans = %+v", spans)
	}
}
