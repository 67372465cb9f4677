package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stratahq/strata/observe"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

func TestLoggerAddsCorrelation(t *testing.T) {
	var buf bytes.Buffer
	log := observe.NewLogger(&buf, slog.LevelInfo)
	ctx := observe.WithCorrelation(context.Background(), "corr-1", "cmd-9")
	log.InfoContext(ctx, "hello", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if rec["correlation_id"] != "corr-1" || rec["causation_id"] != "cmd-9" || rec["msg"] != "hello" {
		t.Fatalf("record = %v", rec)
	}
}

func TestGRPCInterceptorAndMetrics(t *testing.T) {
	reg := observe.NewRegistry()
	ms, err := observe.ServeMetrics("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close(context.Background())

	var seen string
	opts := append(observe.GRPCServerOptions(reg), grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen = observe.CorrelationID(ctx)
		return h(ctx, req)
	}))
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), append(observe.GRPCClientOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, observe.MetadataCorrelationID, "abc")
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if seen != "abc" {
		t.Fatalf("correlation id in handler = %q, want abc", seen)
	}
	resp, err := http.Get("http://" + ms.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `strata_grpc_server_handling_seconds_count{code="OK",method="/grpc.health.v1.Health/Check"} 1`
	if !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %q:\n%s", want, body)
	}
}

func TestTracingConfigValidate(t *testing.T) {
	err := observe.TracingConfig{Exporter: "zipkin"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "zipkin") || !strings.Contains(err.Error(), "service name") {
		t.Fatalf("Validate = %v, want both problems", err)
	}
	shutdown, err := observe.SetupTracing(context.Background(), observe.TracingConfig{Service: "t", Exporter: "stdout", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_ = shutdown(context.Background())
}
