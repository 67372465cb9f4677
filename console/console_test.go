package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/serde"
)

const testToken = "console-test-token-0123"

// newTestServer builds a console whose database is never reached (the pool
// connects lazily): enough for the checks in front of every page.
func newTestServer(t *testing.T, write bool) *httptest.Server {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := eventstore.New(pool, eventstore.Config{NoNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Pool: pool, Store: store, Token: testToken, AllowWrite: write})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location") + string(b)
}

func TestCredentials(t *testing.T) {
	srv := newTestServer(t, false)
	get := func(mod func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/static/console.css", nil)
		req.URL.Path = "/sagas/x/live-nothing"
		mod(req)
		return do(t, req)
	}
	if code, _ := get(func(*http.Request) {}); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code, loc := get(func(r *http.Request) { r.Header.Set("Accept", "text/html") }); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("browser without credentials: %d %q, want a redirect to /login", code, loc)
	}
	if code, _ := get(func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	for name, mod := range map[string]func(*http.Request){
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) },
		"basic":  func(r *http.Request) { r.SetBasicAuth("operator", testToken) },
		"cookie": func(r *http.Request) { r.AddCookie(&http.Cookie{Name: cookieName, Value: testToken}) },
	} {
		if code, _ := get(mod); code == http.StatusUnauthorized {
			t.Errorf("%s: 401 with the right token", name)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/static/htmx.min.js", nil)
	if code, _ := do(t, req); code != http.StatusOK {
		t.Errorf("static file: %d", code)
	}
	// Login sets the cookie; a wrong token does not.
	form := url.Values{"token": {testToken}, "next": {"/sagas"}}
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sagas" || len(resp.Cookies()) != 1 || !resp.Cookies()[0].HttpOnly {
		t.Errorf("login: %d %q cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	form.Set("token", "nope")
	form.Set("next", "//evil.example/")
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if code, body := do(t, req); code != http.StatusUnauthorized || !strings.Contains(body, "not the console") || strings.Contains(body, "evil") {
		t.Errorf("bad login: %d", code)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	srv := newTestServer(t, false)
	for _, path := range []string{"/sagas/s-1/retry", "/projections/order_summaries/rebuild", "/dlq/replay"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if code, body := do(t, req); code != http.StatusForbidden || !strings.Contains(body, "read-only") {
			t.Errorf("POST %s read-only: %d %s", path, code, body)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	srv := newTestServer(t, true)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sagas/s-1/retry", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: testToken})
	req.Header.Set("Origin", "http://evil.example")
	if code, _ := do(t, req); code != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d, want 403", code)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	s := &Server{}
	if err := s.ListenAndServe(context.Background(), "0.0.0.0:0", nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("0.0.0.0: %v, want ErrConfig", err)
	}
}

func TestConfigValidate(t *testing.T) {
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	err = (&Config{Token: "short", Types: types}).Validate()
	for _, want := range []string{"Pool and Store", "Types and Upcaster go together", "16 characters"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestDiffLines(t *testing.T) {
	got := diffLines([]string{"a", "b", "c"}, []string{"a", "c", "d"})
	var b strings.Builder
	for _, l := range got {
		b.WriteString(l.Op + l.Text + ",")
	}
	if b.String() != " a,-b, c,+d," {
		t.Fatalf("diff = %s", b.String())
	}
}
