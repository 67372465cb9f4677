package bootstrap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRequired(t *testing.T) {
	err := errors.Join(Required("svc", "A", "x", "B", "", "C", "", "D", "y")...)
	if want := "svc: B is empty\nsvc: C is empty"; err == nil || err.Error() != want {
		t.Fatalf("Required: got %v, want %q", err, want)
	}
	if errs := Required("svc", "A", "x"); errs != nil {
		t.Fatalf("Required with every value set: %v", errs)
	}
}

func TestServeMetricsEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	addr, stop, err := ServeMetrics("svc", "127.0.0.1:0", prometheus.NewRegistry(), true, path, "SVC_METRICS_ADDR", "SVC_GRPC_ADDR", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background()) //nolint:errcheck
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "export SVC_GRPC_ADDR=127.0.0.1:1\nexport SVC_METRICS_ADDR=" + addr + "\n"; addr == "" || string(got) != want {
		t.Fatalf("env file: got %q, want %q", got, want)
	}
}

func TestServeMetricsOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	for _, tc := range []struct {
		addr  string
		serve bool
	}{{"off", true}, {"", true}, {"127.0.0.1:0", false}} {
		addr, stop, err := ServeMetrics("svc", tc.addr, prometheus.NewRegistry(), tc.serve, path, "SVC_METRICS_ADDR")
		if err != nil || addr != "" || stop(context.Background()) != nil {
			t.Fatalf("ServeMetrics(%q, serve=%v): addr %q, err %v; want no server", tc.addr, tc.serve, addr, err)
		}
		if got, _ := os.ReadFile(path); string(got) != "export SVC_METRICS_ADDR=\n" {
			t.Fatalf("env file: got %q", got)
		}
	}
}
