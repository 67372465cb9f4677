package bootstrap

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/stratahq/strata/observe"
)

// serve starts srv on a loopback port and returns a client connection to it.
func serve(t *testing.T, srv *grpc.Server, dial ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(srv.Stop)
	if len(dial) == 0 {
		dial = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(ln.Addr().String(), dial...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// userSeen is a server option that records the user id each handler sees.
func userSeen(seen chan<- string) grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen <- observe.UserID(ctx)
		return h(ctx, req)
	})
}

// A client's x-user-id header is a claim, not an identity: with no
// authentication configured the handler must see no user at all, or any
// caller could write any user id into the events it causes.
func TestUserIDHeaderIsNotTrusted(t *testing.T) {
	seen := make(chan string, 1)
	srv, hs, err := GRPCServer("svc", prometheus.NewRegistry(), "", "", userSeen(seen))
	if err != nil {
		t.Fatal(err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	conn := serve(t, srv)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user-id", "mallory")
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != "" {
		t.Fatalf("handler saw user id %q from an unauthenticated x-user-id header, want none", got)
	}
}
