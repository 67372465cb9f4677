package observe

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MetadataCorrelationID is the metadata key the server interceptor reads the
// caller's correlation id from. There is no user id key: a user id comes
// from a verified identity only (see package bootstrap), never from a header
// the caller may set to anything.
const MetadataCorrelationID = "x-correlation-id"

// GRPCMetrics holds the collectors of the gRPC server interceptor.
type GRPCMetrics struct {
	Handling *prometheus.HistogramVec // strata_grpc_server_handling_seconds{method,code}
}

// NewGRPCMetrics creates the gRPC server collectors and registers them with reg
// (nil: not registered).
func NewGRPCMetrics(reg prometheus.Registerer) *GRPCMetrics {
	m := &GRPCMetrics{
		Handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_grpc_server_handling_seconds",
			Help:    "Latency of unary gRPC calls handled by this server, by full method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.Handling)
	}
	return m
}

// UnaryServerInterceptor records latency by method and code, and puts the
// caller's correlation id (or a new one) into the handler's ctx.
func (m *GRPCMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx = correlationFromMetadata(ctx)
		resp, err := handler(ctx, req)
		m.Handling.WithLabelValues(info.FullMethod, status.Code(err).String()).Observe(time.Since(start).Seconds())
		return resp, err
	}
}

func correlationFromMetadata(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	corr := first(md, MetadataCorrelationID)
	if corr == "" {
		corr = uuid.NewString()
	}
	return WithCorrelation(ctx, corr, "")
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// GRPCServerOptions returns the server options every Strata gRPC server uses:
// the otelgrpc stats handler (a span per call, continuing the caller's trace)
// and the metrics/correlation interceptor registered with reg.
func GRPCServerOptions(reg prometheus.Registerer) []grpc.ServerOption {
	m := NewGRPCMetrics(reg)
	return []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()),
	}
}

// GRPCClientOptions returns the dial options that propagate the trace context
// to servers.
func GRPCClientOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler())}
}
