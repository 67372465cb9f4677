package observe

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Querier runs a query: a pgx pool, connection or transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type sagaAgeCollector struct {
	q    Querier
	desc *prometheus.Desc
}

// NewSagaAgeCollector exports, at scrape time, how long the oldest active
// saga of each type and status (RUNNING, COMPENSATING) has gone without a
// change, from the saga engine's tables:
//
//	strata_saga_oldest_active_seconds{saga_type,status}
//
// A saga that waits on a reply longer than its step deadlines is stuck
// (alert StrataSagaStuck); PARKED ones are counted by strata_saga_instances.
func NewSagaAgeCollector(q Querier) prometheus.Collector {
	return &sagaAgeCollector{q: q, desc: prometheus.NewDesc("strata_saga_oldest_active_seconds",
		"Seconds since the least recently changed RUNNING or COMPENSATING saga changed, by saga type and status.",
		[]string{"saga_type", "status"}, nil)}
}

func (c *sagaAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sagaAgeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.q.Query(ctx, `SELECT saga_type, status, extract(epoch FROM clock_timestamp() - min(updated_at))::float8
		FROM saga.instances WHERE status IN ('RUNNING', 'COMPENSATING') GROUP BY saga_type, status`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var typ, status string
		var age float64
		if err := rows.Scan(&typ, &status, &age); err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, max(0, age), typ, status)
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
	}
}
