package observe

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/stratahq/strata/messaging"
)

// TracerName is the instrumentation scope of Strata's own spans.
const TracerName = "github.com/stratahq/strata"

// ContextWithTraceParent returns ctx carrying the remote span context of a
// W3C traceparent (from event metadata or a Kafka header), so that spans
// started from it continue that trace. An empty or malformed value leaves
// ctx unchanged.
func ContextWithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// ConsumerHook returns the messaging consumer's OnHandle hook for a group:
// each handler attempt runs in a consumer span that continues the trace of
// the message's traceparent header, and with the message's correlation id
// and, as causation id, the message's event id in its context. Events a
// handler appends with observe.TraceParent(ctx) and these ids continue the
// trace and the correlation; every log line written with ctx carries them.
func ConsumerHook(group string) messaging.HandleHook {
	tracer := otel.Tracer(TracerName)
	return func(ctx context.Context, env messaging.Envelope) (context.Context, func(error)) {
		ctx = ContextWithTraceParent(ctx, env.TraceParent)
		ctx, span := tracer.Start(ctx, "consume "+env.EventType,
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.destination.name", env.Topic),
				attribute.String("messaging.consumer.group.name", group),
				attribute.Int("messaging.destination.partition.id", int(env.Partition)),
				attribute.Int64("messaging.kafka.offset", env.Offset),
				attribute.String("messaging.message.id", env.EventID),
				attribute.String("messaging.kafka.message.key", env.Key),
				attribute.String("strata.event_type", env.EventType),
				attribute.String("strata.correlation_id", env.CorrelationID),
				attribute.Int("strata.attempt", env.Attempt),
			))
		ctx = WithCorrelation(ctx, env.CorrelationID, env.EventID)
		ctx = WithUser(ctx, env.UserID)
		return ctx, func(err error) {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
	}
}

// StartSpan starts an internal span of Strata's tracer (saga steps, relay
// batches, ...). End it with the returned function, passing the step's error.
func StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(error)) {
	ctx, span := otel.Tracer(TracerName).Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
