package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/registry"
	"github.com/stratahq/strata/registry/client"
)

// writeCert writes a self-signed certificate for 127.0.0.1 (its own CA) and
// its key as PEM files in dir and returns their paths.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{name},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// runRegistry runs registry.Run with cfg on 127.0.0.1:0 over a throwaway
// database until the test ends and returns its address.
func runRegistry(t *testing.T, cfg registry.Config) string {
	t.Helper()
	cfg.Addr, cfg.DatabaseURL = "127.0.0.1:0", testenv.NewDatabase(t)
	ready := make(chan net.Addr, 1)
	cfg.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- registry.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry.Run: %v", err)
		}
	})
	select {
	case a := <-ready:
		return a.String()
	case err := <-done:
		t.Fatalf("registry.Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("registry did not start")
	}
	return ""
}

// TestBasicAuthAndTLS runs the registry with users and TLS (mutual TLS in
// the second part) and drives it through package client: credentials and
// certificates from the environment, as every Strata component reads them.
func TestBasicAuthAndTLS(t *testing.T) {
	dir := t.TempDir()
	serverCert, serverKey := writeCert(t, dir, "registry")
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte("# user:password\nrelay:r3lay:pw\nci:c1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := registry.LoadUsers(usersFile)
	if err != nil || len(users) != 2 || users["relay"] != "r3lay:pw" {
		t.Fatalf("LoadUsers: %v %v", users, err)
	}
	addr := runRegistry(t, registry.Config{Users: users, TLS: registry.TLSFiles{CertFile: serverCert, KeyFile: serverKey}})
	url := "https://" + addr

	env := func(m map[string]string) *srclient.SchemaRegistryClient {
		t.Helper()
		for _, k := range []string{client.EnvBasicAuthUserInfo, client.EnvTLSCA, client.EnvTLSCert, client.EnvTLSKey} {
			t.Setenv(k, m[k])
		}
		t.Setenv(client.EnvURL, url)
		c, err := client.NewFromEnv("")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := env(map[string]string{client.EnvBasicAuthUserInfo: "relay:r3lay:pw", client.EnvTLSCA: serverCert})
	const schema = `{"type":"record","name":"A","namespace":"auth.test","fields":[{"name":"a","type":"string"}]}`
	created, err := good.CreateSchema("auth.test.A", schema, srclient.Avro)
	if err != nil {
		t.Fatalf("register with credentials over TLS: %v", err)
	}
	if got, err := good.GetSchema(created.ID()); err != nil || got.Schema() != schema {
		t.Fatalf("get with credentials: %v %v", got, err)
	}

	for name, m := range map[string]map[string]string{
		"no credentials":     {client.EnvTLSCA: serverCert},
		"wrong password":     {client.EnvBasicAuthUserInfo: "relay:nope", client.EnvTLSCA: serverCert},
		"unknown user":       {client.EnvBasicAuthUserInfo: "who:c1", client.EnvTLSCA: serverCert},
		"another's password": {client.EnvBasicAuthUserInfo: "ci:r3lay:pw", client.EnvTLSCA: serverCert},
	} {
		_, err := env(m).GetSubjects()
		if !client.IsUnauthorized(err) {
			t.Errorf("%s: %v, want 401", name, err)
		}
	}
	if _, err := env(map[string]string{client.EnvBasicAuthUserInfo: "ci:c1"}).GetSubjects(); err == nil || client.Code(err) != 0 {
		t.Errorf("without the CA: %v, want a TLS verification failure", err)
	}
	// The 401 is Confluent's body with a challenge.
	req, _ := http.NewRequest("GET", url+"/subjects", nil)
	hc, _ := client.HTTPClient(client.Config{URL: url, TLS: client.TLSConfig{CAFile: serverCert}})
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("anonymous GET /subjects: %s %v", resp.Status, resp.Header)
	}

	// A client nobody here wrote: confluent-kafka-go's, with its own basic-auth
	// and CA settings.
	cfg := schemaregistry.NewConfigWithBasicAuthentication(url, "ci", "c1")
	cfg.SslCaLocation = serverCert
	ck, err := schemaregistry.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if subjects, err := ck.GetAllSubjects(); err != nil || len(subjects) != 1 || subjects[0] != "auth.test.A" {
		t.Errorf("confluent-kafka-go client with basic auth over TLS: %v %v", subjects, err)
	}
	cfg = schemaregistry.NewConfigWithBasicAuthentication(url, "ci", "wrong")
	cfg.SslCaLocation = serverCert
	if bad, err := schemaregistry.NewClient(cfg); err != nil {
		t.Fatal(err)
	} else if _, err := bad.GetAllSubjects(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("confluent-kafka-go client with a wrong password: %v, want 401", err)
	}

	t.Run("mutual TLS", func(t *testing.T) {
		clientCert, clientKey := writeCert(t, dir, "relay-client")
		addr := runRegistry(t, registry.Config{TLS: registry.TLSFiles{CertFile: serverCert, KeyFile: serverKey, ClientCAFile: clientCert}})
		url = "https://" + addr
		if _, err := env(map[string]string{client.EnvTLSCA: serverCert}).GetSubjects(); err == nil {
			t.Error("a client without a certificate was served")
		}
		if _, err := env(map[string]string{client.EnvTLSCA: serverCert, client.EnvTLSCert: clientCert, client.EnvTLSKey: clientKey}).GetSubjects(); err != nil {
			t.Errorf("with a client certificate: %v", err)
		}
	})
}
