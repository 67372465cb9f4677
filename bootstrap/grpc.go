package bootstrap

import (
	"crypto/tls"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/stratahq/strata/observe"
)

// GRPCServer returns the gRPC server a service exposes: observe's metrics and
// tracing options (on reg), TLS when certFile is set, then extra; with the
// health service (not serving until the caller says so) and reflection
// registered.
func GRPCServer(name string, reg *prometheus.Registry, certFile, keyFile string, extra ...grpc.ServerOption) (*grpc.Server, *health.Server, error) {
	opts := observe.GRPCServerOptions(reg)
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: TLS: %w", name, err)
		}
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	}
	srv := grpc.NewServer(append(opts, extra...)...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs, nil
}
