package service_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The local stack's addresses (`strata dev env` or `make env` print them).
// Without them the tests skip, except under CI, where they fail.
func stackEnv(t *testing.T) (databaseURL, brokers, registryURL string) {
	t.Helper()
	databaseURL, brokers, registryURL = os.Getenv("DATABASE_URL"), os.Getenv("KAFKA_BROKERS"), os.Getenv("SCHEMA_REGISTRY_URL")
	if databaseURL == "" || brokers == "" || registryURL == "" {
		msg := "DATABASE_URL, KAFKA_BROKERS and SCHEMA_REGISTRY_URL must point at a running stack (strata dev up; eval \"$(strata dev env)\")"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return databaseURL, brokers, registryURL
}

func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newDatabase creates a throwaway database, dropped when the test ends.
func newDatabase(t *testing.T, admin string) string {
	t.Helper()
	name := unique("ledger_test_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			defer c.Close(ctx)
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
