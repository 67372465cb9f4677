package bootstrap

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/messaging"
)

func servingStatus(t *testing.T, hs *health.Server, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func waitStatus(t *testing.T, hs *health.Server, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for servingStatus(t, hs, service) != want {
		if time.Now().After(deadline) {
			t.Fatalf("health of %q: %v, want %v", service, servingStatus(t, hs, service), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Health follows the real database and Kafka: serving while both answer,
// not serving while one does not.
func TestWatchHealthDependencies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := pgxpool.New(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kafkaUp, closeUp, err := KafkaCheck(messaging.KafkaConfig{"bootstrap.servers": testenv.KafkaBrokers(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeUp()
	hs := health.NewServer()
	WatchHealth(ctx, hs, nil, time.Hour, []string{"bank.v1.Ledger"}, PoolCheck("database", pool), kafkaUp)
	if got := servingStatus(t, hs, "bank.v1.Ledger"); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("with the stack up: %v", got)
	}

	// Nothing listens on port 1.
	kafkaDown, closeDown, err := KafkaCheck(messaging.KafkaConfig{"bootstrap.servers": "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDown()
	hs2 := health.NewServer()
	WatchHealth(ctx, hs2, nil, 2*time.Second, nil, PoolCheck("database", pool), kafkaDown)
	if got := servingStatus(t, hs2, ""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("with Kafka unreachable: %v", got)
	}
}

// A dependency that fails and comes back turns health off and on again.
func TestWatchHealthFollowsChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var down atomic.Bool
	check := Check{Name: "db", Ping: func(context.Context) error {
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}
	hs := health.NewServer()
	WatchHealth(ctx, hs, nil, 20*time.Millisecond, []string{"svc"}, check)
	waitStatus(t, hs, "svc", healthpb.HealthCheckResponse_SERVING)
	down.Store(true)
	waitStatus(t, hs, "svc", healthpb.HealthCheckResponse_NOT_SERVING)
	waitStatus(t, hs, "", healthpb.HealthCheckResponse_NOT_SERVING)
	down.Store(false)
	waitStatus(t, hs, "svc", healthpb.HealthCheckResponse_SERVING)
}
