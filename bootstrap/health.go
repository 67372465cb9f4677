package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stratahq/strata/messaging"
)

// Check is one dependency a service needs to serve: Ping returns nil while
// it is reachable.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// PoolCheck pings a PostgreSQL pool.
func PoolCheck(name string, pool *pgxpool.Pool) Check {
	return Check{Name: name, Ping: pool.Ping}
}

// KafkaCheck asks the brokers of kc for cluster metadata. Close the returned
// function when done.
func KafkaCheck(kc messaging.KafkaConfig) (Check, func(), error) {
	cm := kafka.ConfigMap{}
	for k, v := range kc {
		cm[k] = v
	}
	ac, err := kafka.NewAdminClient(&cm)
	if err != nil {
		return Check{}, nil, fmt.Errorf("kafka health check: %w", err)
	}
	return Check{Name: "kafka", Ping: func(ctx context.Context) error {
		ms := 5000
		if d, ok := ctx.Deadline(); ok {
			ms = max(1, int(time.Until(d).Milliseconds()))
		}
		md, err := ac.GetMetadata(nil, false, ms)
		if err != nil {
			return err
		}
		if len(md.Brokers) == 0 {
			return errors.New("no brokers")
		}
		return nil
	}}, ac.Close, nil
}

// WatchHealth sets the health of the whole server ("") and of each name in
// services to SERVING while every check passes and NOT_SERVING otherwise. It
// checks once before it returns, then every interval in a goroutine (each
// check gets at most interval) until ctx ends. Changes are logged.
func WatchHealth(ctx context.Context, hs *health.Server, log *slog.Logger, interval time.Duration, services []string, checks ...Check) {
	if log == nil {
		log = slog.Default()
	}
	w := &healthWatch{hs: hs, log: log, interval: interval, services: services, checks: checks}
	w.round(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.round(ctx)
			}
		}
	}()
}

type healthWatch struct {
	hs       *health.Server
	log      *slog.Logger
	interval time.Duration
	services []string
	checks   []Check
	last     healthpb.HealthCheckResponse_ServingStatus
}

func (w *healthWatch) round(ctx context.Context) {
	st := healthpb.HealthCheckResponse_SERVING
	var failed []any
	for _, c := range w.checks {
		cctx, cancel := context.WithTimeout(ctx, w.interval)
		err := c.Ping(cctx)
		cancel()
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			failed = append(failed, c.Name, err.Error())
		}
	}
	if ctx.Err() != nil || st == w.last {
		return
	}
	for _, s := range append([]string{""}, w.services...) {
		w.hs.SetServingStatus(s, st)
	}
	if st == healthpb.HealthCheckResponse_SERVING {
		w.log.InfoContext(ctx, "health: serving")
	} else {
		w.log.WarnContext(ctx, "health: not serving", failed...)
	}
	w.last = st
}
