// Package observe is the small amount of observability set-up every Strata
// service shares: structured logs, Prometheus metrics, OpenTelemetry tracing and
// the gRPC server options that tie them together.
//
// Start with one call per concern, in main or a service's wiring:
//
//	log := observe.NewLogger(os.Stderr, slog.LevelInfo)      // slog JSON; adds correlation_id/causation_id from ctx
//	shutdown, err := observe.SetupTracing(ctx, observe.TracingConfig{Service: "order", Exporter: "stdout"})
//	reg := prometheus.NewRegistry()
//	srv, err := observe.ServeMetrics(ctx, "127.0.0.1:9464", reg) // GET /metrics
//	grpcSrv := grpc.NewServer(observe.GRPCServerOptions(reg)...)
//
// Correlation travels in the context: WithCorrelation stores the correlation id
// and causation id; CorrelationID and CausationID read them back. The gRPC
// interceptor from GRPCServerOptions fills them from the incoming metadata keys
// MetadataCorrelationID ("x-correlation-id") and MetadataUserID ("x-user-id"),
// minting a correlation id when the caller sent none, so every log line written
// with a request's ctx carries them.
//
// Metrics registered by GRPCServerOptions:
//
//	strata_grpc_server_handling_seconds{method,code}  histogram of unary call latency
//
// Tracing: SetupTracing installs a global TracerProvider and the W3C trace
// context propagator; the exporter is "none" (default), "stdout" or "otlp"
// (OTLP over gRPC to Endpoint or OTEL_EXPORTER_OTLP_ENDPOINT). TraceParent
// returns the current span's W3C traceparent for event metadata.
package observe
