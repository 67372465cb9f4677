// Package observe is the observability every Strata service shares:
// structured logs with correlation ids, Prometheus metrics, OpenTelemetry
// tracing, and the hooks that connect them to the gRPC server, the event
// store, the Kafka consumers, the projections and the sagas.
//
// Start with one call per concern, in a service's wiring:
//
//	log := observe.NewLogger(os.Stderr, slog.LevelInfo)        // slog JSON; adds correlation_id/causation_id/user_id/trace_id from ctx
//	shutdown, err := observe.SetupTracingFromEnv(ctx, "order")  // OTEL_TRACES_EXPORTER: none (default), stdout, otlp
//	reg := observe.NewRegistry()                                // Go runtime and process collectors
//	srv, err := observe.ServeMetrics("127.0.0.1:9465", reg)     // GET /metrics, /healthz
//	grpcSrv := grpc.NewServer(observe.GRPCServerOptions(reg)...)
//
//	sm, err := observe.NewStoreMetrics(reg)                     // append latency, batch size
//	store, err := eventstore.New(pool, eventstore.Config{OnAppend: sm.Observe})
//	reg.MustRegister(observe.NewHeldBackCollector(store))       // readers held back by open transactions
//
//	consumer, err := messaging.NewConsumer(messaging.ConsumerConfig{..., OnHandle: observe.ConsumerHook(group)})
//
//	pm, err := observe.NewProjectionMetrics(reg)                // end-to-end freshness
//	pm.Instrument(runner)
//	reg.MustRegister(observe.NewProjectionStatusCollector(runner)) // projection lag, failures
//	reg.MustRegister(observe.NewSagaAgeCollector(pool))          // how long active sagas have not moved
//	dlq := observe.NewDLQSizeCollector(kafkaCfg, topics, "")     // size of each <topic>.dlq, from Kafka offsets
//	reg.MustRegister(dlq); defer dlq.Close()
//
// Correlation travels in the context: WithCorrelation stores the correlation
// id and causation id; CorrelationID and CausationID read them back. The gRPC
// interceptor from GRPCServerOptions fills the correlation id from the incoming
// metadata key MetadataCorrelationID ("x-correlation-id"), minting one when
// the caller sent none; the user id (WithUser) is set only by an
// authenticating interceptor from a verified identity (bootstrap does). The
// consumer hook fills them from a Kafka message (its correlation id, and its
// event id as the causation id). So every log line written with a request's
// or a message's ctx carries them, and every event appended with them keeps
// them in its metadata.
//
// Tracing: SetupTracing installs a global TracerProvider and the W3C trace
// context propagator; the exporter is "none", "stdout" or "otlp" (OTLP over
// gRPC; the standard OTEL_EXPORTER_OTLP_* variables apply). A trace starts at
// the gRPC server span (otelgrpc); TraceParent returns the current span's W3C
// traceparent for event metadata; the relay copies it to the Kafka
// traceparent header; ConsumerHook continues it in a consumer span per
// handler attempt; ContextWithTraceParent and StartSpan serve other hops.
//
// Metric names (all documented in docs/operations.md, used by
// grafana/strata-overview.json and prometheus/strata-alerts.yaml, which the
// tests check against these collectors):
//
//	strata_grpc_server_handling_seconds{method,code}
//	strata_eventstore_append_seconds{stream_type,outcome}, strata_eventstore_append_batch_events{stream_type}
//	strata_eventstore_held_back_seconds, strata_eventstore_held_back_events, strata_eventstore_oldest_transaction_seconds
//	strata_projection_freshness_seconds{projection}, strata_projection_events_total{projection,outcome}
//	strata_projection_lag_events, strata_projection_lag_seconds, strata_projection_failures_total, strata_projection_position {projection}
//	strata_saga_oldest_active_seconds{saga_type,status}
//	strata_messaging_dlq_messages{topic}, strata_messaging_dlq_unreplayed{topic}
package observe
