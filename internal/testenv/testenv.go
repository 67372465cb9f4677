// Package testenv gives integration tests the real servers of the local stack
// (`make up`): PostgreSQL, Kafka and the schema registry. A test asks for what it
// needs; when that server cannot be reached the test is skipped on a developer's
// machine and fails when CI is set, so CI never passes by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/registry/client"
)

// Defaults match ci/stack.sh; the environment (see `make env`) overrides them.
const (
	DefaultDatabaseURL       = "postgres://strata:strata@127.0.0.1:55432/strata?sslmode=disable"
	DefaultKafkaBrokers      = "127.0.0.1:9092"
	DefaultSchemaRegistryURL = "http://127.0.0.1:8081"
	// DefaultSchemaRegistryUserInfo is the basic-auth credential of the
	// stack's registry (ci/stack/common.sh).
	DefaultSchemaRegistryUserInfo = "strata:strata"
)

// Getenv returns the environment variable key, or def when it is unset or empty.
func Getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// missing skips (developer machine) or fails (CI set) a test whose server is down.
func missing(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable (start it with `make up`): %v", what, err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// DatabaseURL returns the URL of the stack's main database, checking that it answers.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	u := Getenv("DATABASE_URL", DefaultDatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		missing(t, "PostgreSQL", err)
	}
	conn.Close(ctx)
	return u
}

// NewDatabase creates a throwaway database for one test, dropped when the test
// ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := DatabaseURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "strata_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	pu, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", admin, err)
	}
	pu.Path = "/" + name
	return pu.String()
}

// KafkaBrokers returns the bootstrap servers of the stack's Kafka, checking
// that the first one accepts connections.
func KafkaBrokers(t testing.TB) string {
	t.Helper()
	brokers := Getenv("KAFKA_BROKERS", DefaultKafkaBrokers)
	first := strings.Split(brokers, ",")[0]
	c, err := net.DialTimeout("tcp", first, 3*time.Second)
	if err != nil {
		missing(t, "Kafka", err)
	}
	c.Close()
	return brokers
}

// SchemaRegistryURL returns the schema registry's URL, checking that it
// answers GET /subjects with the credentials and TLS settings of the
// environment (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO etc., see package
// registry/client; `make env` prints them). When the URL is the stack's
// default and no credentials are set, it exports the stack's default
// credentials into the process environment (DATABASE_URL's default carries
// its password the same way), so the clients and subprocesses a test starts
// find them. A registry that refuses the credentials fails the test even
// locally: that is a wrong environment, not a missing server.
func SchemaRegistryURL(t testing.TB) string {
	t.Helper()
	useStackCredentials()
	cfg, err := client.FromEnv()
	if err != nil {
		t.Fatalf("schema registry client configuration: %v", err)
	}
	if cfg.URL == "" {
		cfg.URL = DefaultSchemaRegistryURL
	}
	hc, err := client.HTTPClient(cfg)
	if err != nil {
		t.Fatalf("schema registry client configuration: %v", err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(cfg.URL, "/")+"/subjects", nil)
	if err != nil {
		t.Fatalf("schema registry URL: %v", err)
	}
	cfg.Authorize(req)
	resp, err := hc.Do(req)
	if err != nil {
		missing(t, "schema registry", err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		t.Fatalf("schema registry %s refused the credentials (%s): set %s as `make env` prints it",
			cfg.Redacted(), resp.Status, client.EnvBasicAuthUserInfo)
	default:
		missing(t, "schema registry", fmt.Errorf("GET /subjects: %s", resp.Status))
	}
	return cfg.URL
}

func useStackCredentials() {
	u := Getenv(client.EnvURL, DefaultSchemaRegistryURL)
	if strings.TrimRight(u, "/") != DefaultSchemaRegistryURL {
		return
	}
	for _, k := range []string{client.EnvBasicAuthUserInfo, client.EnvBasicAuthFile, client.EnvBearerToken, client.EnvBearerTokenFile} {
		if _, set := os.LookupEnv(k); set {
			return
		}
	}
	os.Setenv(client.EnvBasicAuthUserInfo, DefaultSchemaRegistryUserInfo)
}

// RegistryClient returns a registry client for url (as SchemaRegistryURL
// returns it) with the environment's credentials and TLS settings.
func RegistryClient(t testing.TB, url string) *srclient.SchemaRegistryClient {
	t.Helper()
	useStackCredentials()
	c, err := client.ForURL(url)
	if err != nil {
		t.Fatalf("schema registry client: %v", err)
	}
	return c
}

// UniqueName returns prefix followed by a random suffix, for topics, subjects
// and consumer groups that must not collide between tests or runs.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
