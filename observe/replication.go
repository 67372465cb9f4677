package observe

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// ReplicaLag is one measurement of a PostgreSQL streaming replica against
// its primary.
type ReplicaLag struct {
	// Bytes of WAL the primary has written that the replica has not replayed
	// (pg_current_wal_lsn() on the primary minus pg_last_wal_replay_lsn() on
	// the replica); 0 when it has replayed everything.
	Bytes int64
	// Seconds: 0 when Bytes is 0; otherwise how long ago the replica replayed
	// its last transaction (now() - pg_last_xact_replay_timestamp()), i.e. how
	// old the newest data a query on the replica can see is.
	Seconds float64
	// Streaming: the primary lists the replica's WAL receiver in
	// pg_stat_replication (state streaming).
	Streaming bool
}

// MeasureReplicaLag asks the replica, then the primary. An error means the
// replica (or the primary) did not answer, or the replica is not in recovery.
// applicationName, when not empty, selects the replica's row in the primary's
// pg_stat_replication (its primary_conninfo application_name).
func MeasureReplicaLag(ctx context.Context, primary, replica *pgxpool.Pool, applicationName string) (ReplicaLag, error) {
	var (
		inRecovery bool
		replayLSN  *string
		replayAge  *float64
	)
	err := replica.QueryRow(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
		extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8`).Scan(&inRecovery, &replayLSN, &replayAge)
	if err != nil {
		return ReplicaLag{}, fmt.Errorf("replica lag: replica: %w", err)
	}
	if !inRecovery || replayLSN == nil {
		return ReplicaLag{}, fmt.Errorf("replica lag: the read database is not a streaming replica (pg_is_in_recovery() = %v)", inRecovery)
	}
	var lag ReplicaLag
	err = primary.QueryRow(ctx, `SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint,
		EXISTS (SELECT FROM pg_stat_replication WHERE state = 'streaming' AND ($2 = '' OR application_name = $2))`,
		*replayLSN, applicationName).Scan(&lag.Bytes, &lag.Streaming)
	if err != nil {
		return ReplicaLag{}, fmt.Errorf("replica lag: primary: %w", err)
	}
	if lag.Bytes > 0 && replayAge != nil {
		lag.Seconds = max(*replayAge, 0)
	}
	return lag, nil
}

// NewReplicaLagCollector measures a streaming replica on every scrape:
//
//	strata_db_replica_up{replica}            1 when the replica answers as a standby
//	strata_db_replica_streaming{replica}     1 when the primary streams WAL to it
//	strata_db_replica_lag_bytes{replica}     WAL written on the primary, not yet replayed
//	strata_db_replica_lag_seconds{replica}   age of the newest replayed transaction (0 when caught up)
//
// While the replica is down only strata_db_replica_up (0) is exported: a lag
// that cannot be measured is not reported as 0.
func NewReplicaLagCollector(primary, replica *pgxpool.Pool, name, applicationName string) prometheus.Collector {
	l := prometheus.Labels{"replica": name}
	return &replicaLagCollector{
		primary: primary, replica: replica, app: applicationName,
		up:        prometheus.NewDesc("strata_db_replica_up", "1 when the read replica answers as a standby, 0 when it does not.", nil, l),
		streaming: prometheus.NewDesc("strata_db_replica_streaming", "1 when the primary's pg_stat_replication shows the replica streaming.", nil, l),
		bytes:     prometheus.NewDesc("strata_db_replica_lag_bytes", "WAL bytes written on the primary and not yet replayed on the replica.", nil, l),
		seconds:   prometheus.NewDesc("strata_db_replica_lag_seconds", "Age of the newest transaction the replica replayed, 0 when it has replayed everything.", nil, l),
	}
}

type replicaLagCollector struct {
	primary, replica              *pgxpool.Pool
	app                           string
	up, streaming, bytes, seconds *prometheus.Desc
}

func (c *replicaLagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.streaming
	ch <- c.bytes
	ch <- c.seconds
}

func (c *replicaLagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	lag, err := MeasureReplicaLag(ctx, c.primary, c.replica, c.app)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	streaming := 0.0
	if lag.Streaming {
		streaming = 1
	}
	ch <- prometheus.MustNewConstMetric(c.streaming, prometheus.GaugeValue, streaming)
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(lag.Bytes))
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, lag.Seconds)
}
