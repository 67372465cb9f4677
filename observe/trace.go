package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig chooses where spans go.
type TracingConfig struct {
	Service  string    // service.name resource attribute
	Exporter string    // "none" or "" (spans are created but dropped), "stdout", "otlp"
	Endpoint string    // OTLP gRPC endpoint host:port; empty uses OTEL_EXPORTER_OTLP_ENDPOINT
	Insecure bool      // OTLP without TLS (loopback collectors)
	Writer   io.Writer // stdout exporter destination; nil means os.Stdout
}

// Validate reports every problem with the configuration.
func (c TracingConfig) Validate() error {
	var errs []error
	switch c.Exporter {
	case "", "none", "stdout", "otlp":
	default:
		errs = append(errs, fmt.Errorf("tracing exporter %q: want none, stdout or otlp", c.Exporter))
	}
	if c.Service == "" {
		errs = append(errs, errors.New("tracing: service name is empty"))
	}
	return errors.Join(errs...)
}

// SetupTracing installs a global TracerProvider and the W3C trace-context and
// baggage propagators. The returned function flushes and stops the provider.
func SetupTracing(ctx context.Context, cfg TracingConfig) (shutdown func(context.Context) error, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.Service))),
	}
	switch cfg.Exporter {
	case "stdout":
		w := cfg.Writer
		if w == nil {
			w = os.Stdout
		}
		exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("stdout trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	case "otlp":
		var eo []otlptracegrpc.Option
		if cfg.Endpoint != "" {
			eo = append(eo, otlptracegrpc.WithEndpoint(cfg.Endpoint))
		}
		if cfg.Insecure {
			eo = append(eo, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("otlp trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// TraceID returns the hex trace id of the span in ctx, or "".
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// TraceParent returns the W3C traceparent header of the span in ctx, or "".
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// TracingFromEnv returns the tracing configuration of a service from
// OTEL_TRACES_EXPORTER (none, stdout, otlp). The OTLP exporter itself reads
// the standard OTEL_EXPORTER_OTLP_* variables (endpoint URL, insecure,
// headers).
func TracingFromEnv(service string) TracingConfig {
	return TracingConfig{Service: service, Exporter: os.Getenv("OTEL_TRACES_EXPORTER")}
}

// SetupTracingFromEnv installs tracing as TracingFromEnv says when an
// exporter is chosen (stdout or otlp); with none it leaves the global
// TracerProvider alone (trace context still propagates through events and
// Kafka headers, spans are not recorded). The returned function flushes.
func SetupTracingFromEnv(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	cfg := TracingFromEnv(service)
	if cfg.Exporter == "" || cfg.Exporter == "none" {
		return func(context.Context) error { return nil }, cfg.Validate()
	}
	return SetupTracing(ctx, cfg)
}
