package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/registry"
)

// newRegistry starts the registry in-process on 127.0.0.1 over a throwaway
// PostgreSQL database and returns its URL.
func newRegistry(t *testing.T) string {
	t.Helper()
	return serveOn(t, testenv.NewDatabase(t))
}

// serveOn starts another registry server (with its own caches) on the
// database dbURL and returns its URL.
func serveOn(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := registry.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatalf("open registry database: %v", err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httptest.NewServer(registry.NewServer(registry.NewStore(pool, nil), log))
	t.Cleanup(srv.Close)
	return srv.URL
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// call sends a request with a JSON body (nil for none) and decodes the JSON
// answer into a generic value.
func call(t *testing.T, method, url string, body any) (int, any) {
	t.Helper()
	status, raw := callRaw(t, method, url, body)
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, url, err, raw)
		}
	}
	return status, v
}

func callRaw(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", registry.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != registry.ContentType {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, raw
}

// mustCall is call that fails the test unless the status is want.
func mustCall(t *testing.T, want int, method, url string, body any) any {
	t.Helper()
	status, v := call(t, method, url, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %v", method, url, status, want, v)
	}
	return v
}

// register registers schema under subject and returns its id.
func register(t *testing.T, base, subject, schema string, refs ...registry.Reference) int {
	t.Helper()
	v := mustCall(t, 200, "POST", base+"/subjects/"+subject+"/versions", map[string]any{"schema": schema, "references": refs})
	return int(v.(map[string]any)["id"].(float64))
}

func errorCode(v any) int {
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	c, _ := m["error_code"].(float64)
	return int(c)
}

// tryRegister is register for other goroutines than the test's: it reports a
// failure with t.Errorf and returns 0.
func tryRegister(t *testing.T, base, subject, schema string) int {
	b, _ := json.Marshal(map[string]any{"schema": schema})
	resp, err := http.Post(base+"/subjects/"+subject+"/versions", registry.ContentType, bytes.NewReader(b))
	if err != nil {
		t.Errorf("register under %s: %v", subject, err)
		return 0
	}
	defer resp.Body.Close()
	var v struct {
		ID      int    `json:"id"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Errorf("register under %s: %s %v %s", subject, resp.Status, err, v.Message)
		return 0
	}
	return v.ID
}
