package bootstrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stratahq/strata/bootstrap/bootstraptest"
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

// probe is the method the tests call: health's List, which (unlike Check
// and Watch) is not public, so authentication applies to it.
func probe(ctx context.Context, conn *grpc.ClientConn) error {
	_, err := healthpb.NewHealthClient(conn).List(ctx, &healthpb.HealthListRequest{})
	return err
}

// seen is a server option that records the user id and identity each
// handler sees, and panics when the caller sends metadata "panic".
func seen(users chan<- string) grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("panic"); len(v) > 0 {
			panic(v[0])
		}
		id, _ := IdentityFrom(ctx)
		users <- observe.UserID(ctx) + "|" + id.Method
		return h(ctx, req)
	})
}

func newServer(t *testing.T, cfg GRPCConfig, users chan string) *grpc.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, hs, err := GRPCServer(ctx, "svc", prometheus.NewRegistry(), cfg, seen(users))
	if err != nil {
		t.Fatal(err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return srv
}

// A client's x-user-id header is a claim, not an identity: with no
// authentication configured the handler must see no user at all, or any
// caller could write any user id into the events it causes.
func TestUserIDHeaderIsNotTrusted(t *testing.T) {
	users := make(chan string, 1)
	conn := serve(t, newServer(t, GRPCConfig{}, users))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user-id", "mallory")
	if err := probe(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := <-users; got != "|" {
		t.Fatalf("handler saw user %q from an unauthenticated x-user-id header, want none", got)
	}
}

func TestBearerToken(t *testing.T) {
	iss := bootstraptest.NewIssuer(t)
	other := bootstraptest.NewIssuer(t) // same kid, a key the server does not know
	users := make(chan string, 1)
	conn := serve(t, newServer(t, GRPCConfig{JWKSURL: iss.URL, JWTIssuer: "https://id.example", JWTAudience: "ledger"}, users))
	exp := time.Now().Add(time.Hour).Unix()
	good := jwt.MapClaims{"sub": "alice", "iss": "https://id.example", "aud": "ledger", "exp": exp}
	with := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok, "x-user-id", "mallory")
	}
	if err := probe(with(iss.Sign(t, good)), conn); err != nil {
		t.Fatal(err)
	}
	if got := <-users; got != "alice|jwt" {
		t.Fatalf("handler saw %q, want the token's subject alice (not the x-user-id header)", got)
	}
	claims := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for name, ctx := range map[string]context.Context{
		"no token":       metadata.AppendToOutgoingContext(context.Background(), "x-user-id", "mallory"),
		"unknown key":    with(other.Sign(t, good)),
		"expired":        with(iss.Sign(t, claims("exp", time.Now().Add(-time.Minute).Unix()))),
		"no expiry":      with(iss.Sign(t, claims("exp", nil))),
		"wrong audience": with(iss.Sign(t, claims("aud", "another-service"))),
		"wrong issuer":   with(iss.Sign(t, claims("iss", "https://evil.example"))),
		"no subject":     with(iss.Sign(t, claims("sub", nil))),
		"not a JWT":      with("garbage"),
		"unsigned":       with(unsigned(t, good)),
		"basic auth":     metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic YWxpY2U6eA=="),
	} {
		if err := probe(ctx, conn); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %v, want Unauthenticated", name, err)
		}
	}
	if len(users) != 0 {
		t.Fatalf("a refused call reached the handler as %q", <-users)
	}
	// Health stays open to probes without credentials.
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check without a token: %v", err)
	}
}

func unsigned(t *testing.T, c jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pki writes a CA, a server certificate for 127.0.0.1 and returns the paths
// and a function that issues client certificates.
type pki struct {
	caCert                    *x509.Certificate
	caKey                     *ecdsa.PrivateKey
	caFile, certFile, keyFile string
	roots                     *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	dir := t.TempDir()
	p := &pki{roots: x509.NewCertPool()}
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.roots.AddCert(p.caCert)
	p.caFile = filepath.Join(dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", der)
	srv := p.issue(t, "server", x509.ExtKeyUsageServerAuth)
	p.certFile, p.keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writePEM(t, p.certFile, "CERTIFICATE", srv.Certificate[0])
	kder, _ := x509.MarshalPKCS8PrivateKey(srv.PrivateKey)
	writePEM(t, p.keyFile, "PRIVATE KEY", kder)
	return p
}

func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	users := make(chan string, 1)
	srv := newServer(t, GRPCConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}, users)
	client := p.issue(t, "billing-service", x509.ExtKeyUsageClientAuth)
	conn := serve(t, srv, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: p.roots, Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12})))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user-id", "mallory")
	if err := probe(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if got := <-users; got != "billing-service|mtls" {
		t.Fatalf("handler saw %q, want the certificate's subject", got)
	}
	// Without a client certificate the handshake fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv2 := newServer(t, GRPCConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}, users)
	go srv2.Serve(ln) //nolint:errcheck
	defer srv2.Stop()
	anon, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := probe(cctx, anon); err == nil {
		t.Fatal("a client without a certificate was served")
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	var logged strings.Builder
	users := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _, err := GRPCServer(ctx, "svc", prometheus.NewRegistry(), GRPCConfig{Logger: observe.NewLogger(&logged, slog.LevelInfo)}, seen(users))
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, srv)
	secret := "pq: relation accounts_secret_42 does not exist"
	err = probe(metadata.AppendToOutgoingContext(context.Background(), "panic", secret), conn)
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "accounts_secret_42") {
		t.Fatalf("panic: got %v, want Internal without the panic's text", err)
	}
	if !strings.Contains(logged.String(), "accounts_secret_42") {
		t.Fatalf("the panic was not logged: %q", logged.String())
	}
	// The server keeps serving.
	if err := probe(context.Background(), conn); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
}

func TestGRPCConfigValidate(t *testing.T) {
	err := GRPCConfig{CertFile: "c", ClientCAFile: "", JWTAudience: "a"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "key") || !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("Validate: %v", err)
	}
	if err := (GRPCConfig{ClientCAFile: "ca"}).Validate(); err == nil {
		t.Fatal("mutual TLS without a server certificate passed")
	}
	if err := (GRPCConfig{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
