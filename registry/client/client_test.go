package client_test

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/registry/client"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromLookup(t *testing.T) {
	dir := t.TempDir()
	userFile := filepath.Join(dir, "userinfo")
	if err := os.WriteFile(userFile, []byte("alice:s3cret:with:colons\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.FromLookup(env(map[string]string{
		client.EnvURL: "https://reg.example:8081", client.EnvBasicAuthFile: userFile,
		client.EnvTLSCA: "/ca.pem", client.EnvTLSServerName: "reg", client.EnvTimeout: "3s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "alice" || cfg.Password != "s3cret:with:colons" || cfg.TLS.CAFile != "/ca.pem" || cfg.TLS.ServerName != "reg" || cfg.Timeout.String() != "3s" {
		t.Errorf("cfg = %+v", cfg)
	}
	if strings.Contains(cfg.Redacted(), "s3cret") {
		t.Errorf("Redacted() shows the password: %s", cfg.Redacted())
	}

	cfg, err = client.FromLookup(env(map[string]string{client.EnvURL: "http://bob:pw@127.0.0.1:8081/apis/ccompat/v7"}))
	if err != nil || cfg.Username != "bob" || cfg.Password != "pw" || cfg.URL != "http://127.0.0.1:8081/apis/ccompat/v7" {
		t.Errorf("URL userinfo: %+v %v", cfg, err)
	}

	bad := []map[string]string{
		{client.EnvURL: "http://x", client.EnvBasicAuthUserInfo: "nopassword"},
		{client.EnvURL: "http://x", client.EnvBasicAuthUserInfo: "a:b", client.EnvBasicAuthFile: userFile},
		{client.EnvURL: "http://x", client.EnvTimeout: "soon"},
		{client.EnvURL: "http://u:p@x", client.EnvBasicAuthUserInfo: "a:b"},
	}
	for _, m := range bad {
		if _, err := client.FromLookup(env(m)); !errors.Is(err, client.ErrConfig) {
			t.Errorf("FromLookup(%v) = %v, want ErrConfig", m, err)
		}
	}
	invalid := []client.Config{
		{},
		{URL: "ftp://x"},
		{URL: "http://x", Username: "a"},
		{URL: "http://x", Username: "a", Password: "b", BearerToken: "t"},
		{URL: "https://x", TLS: client.TLSConfig{CertFile: "c"}},
		{URL: "http://x", TLS: client.TLSConfig{CAFile: "c"}},
	}
	for _, c := range invalid {
		if err := c.Validate(); !errors.Is(err, client.ErrConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

// fakeRegistry answers GET /schemas/ids/1 when the request carries want as
// its Authorization header, 401 (not Confluent's JSON, as a proxy would)
// otherwise, and Confluent's 40403 for other ids.
func fakeRegistry(want string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			http.Error(w, "<html>401 Authorization Required</html>", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		if r.URL.Path != "/schemas/ids/1" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
			return
		}
		w.Write([]byte(`{"schema":"\"string\""}`))
	})
}

func TestBasicAuthAndErrors(t *testing.T) {
	srv := httptest.NewServer(fakeRegistry("Basic YWxpY2U6czNjcmV0")) // alice:s3cret
	defer srv.Close()
	c, err := client.New(client.Config{URL: srv.URL, Username: "alice", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.GetSchema(1); err != nil || s.Schema() != `"string"` {
		t.Fatalf("GetSchema with credentials: %v %v", s, err)
	}
	_, err = c.GetSchema(2)
	if !client.IsNotFound(err) || client.Code(err) != 40403 {
		t.Errorf("GetSchema(2) = %v: IsNotFound %v, Code %d", err, client.IsNotFound(err), client.Code(err))
	}
	anon, err := client.New(client.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.GetSchema(1)
	var se srclient.Error
	if !errors.As(err, &se) || !client.IsUnauthorized(err) || client.IsNotFound(err) || client.Code(err) != 401 {
		t.Errorf("GetSchema without credentials = %v (%T), want an srclient.Error with code 401", err, err)
	}
	if client.IsRefusal(err) || client.Code(errors.New("dial tcp: refused")) != 0 {
		t.Error("a 401 or a network error counted as a refusal")
	}
}

func TestBearerToken(t *testing.T) {
	srv := httptest.NewServer(fakeRegistry("Bearer tok3n"))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok3n\n"), 0o600)
	cfg, err := client.FromLookup(env(map[string]string{client.EnvURL: srv.URL, client.EnvBearerTokenFile: tokenFile}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSchema(1); err != nil {
		t.Fatalf("GetSchema with a bearer token: %v", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(fakeRegistry(""))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	untrusted, err := client.New(client.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusted.GetSchema(1); err == nil || client.Code(err) != 0 {
		t.Errorf("GetSchema trusting only the system's CAs = %v, want a TLS failure", err)
	}
	// httptest's certificate is for example.com and 127.0.0.1.
	trusted, err := client.New(client.Config{URL: srv.URL, TLS: client.TLSConfig{CAFile: ca, ServerName: "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusted.GetSchema(1); err != nil {
		t.Fatalf("GetSchema with the CA: %v", err)
	}
	wrongName, _ := client.New(client.Config{URL: srv.URL, TLS: client.TLSConfig{CAFile: ca, ServerName: "registry.other"}})
	if _, err := wrongName.GetSchema(1); err == nil {
		t.Error("GetSchema verified the certificate against the wrong server name")
	}
}
