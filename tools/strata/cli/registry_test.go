package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/tools/strata/cli/registry"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRegistryServe runs `strata registry serve` in-process against a
// throwaway database: it migrates, answers GET /subjects with 200, registers
// a schema, and exits 0 when its context is cancelled.
func TestRegistryServe(t *testing.T) {
	dbURL := testenv.NewDatabase(t)
	ready := make(chan net.Addr, 1)
	registry.Ready = func(a net.Addr) { ready <- a }
	t.Cleanup(func() { registry.Ready = nil })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"registry", "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL}, nil, &stdout, &stderr)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("serve exited %d before listening: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready after 30s: %s", stderr.String())
	}
	base := "http://" + addr.String()
	resp, err := http.Get(base + "/subjects")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /subjects: %s", resp.Status)
	}
	resp, err = http.Post(base+"/subjects/t.R/versions", "application/json",
		strings.NewReader(`{"schema":"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[]}"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("register: %s", resp.Status)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("serve exited %d after cancel: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of cancel")
	}
	for _, want := range []string{"applied registry migration", "schema registry listening", "registered schema", "shutting down"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestRegistryServeUsage(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("REGISTRY_DATABASE_URL", "")
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"registry"}, ExitUsage},
		{[]string{"registry", "--help"}, ExitOK},
		{[]string{"help", "registry"}, ExitOK},
		{[]string{"registry", "nope"}, ExitUsage},
		{[]string{"registry", "serve"}, ExitUsage}, // no database URL
		{[]string{"registry", "serve", "--log-level", "loud", "--database-url", "postgres://x@127.0.0.1/x"}, ExitUsage},
		{[]string{"registry", "serve", "--bogus"}, ExitUsage},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if got := Run(context.Background(), tt.args, nil, &out, &errb); got != tt.want {
			t.Errorf("strata %s = %d, want %d (%s)", strings.Join(tt.args, " "), got, tt.want, errb.String())
		}
	}
}
