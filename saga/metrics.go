package saga

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's counters.
type Metrics struct {
	// Events counts saga events by type: started, completed, compensated, timeout, parked.
	Events *prometheus.CounterVec
	// Parked counts sagas parked for an operator (strata_saga_parked_total).
	Parked  *prometheus.CounterVec
	ignored *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_saga_events_total", Help: "Saga lifecycle events (started, completed, compensated, timeout, parked) by saga type.",
		}, []string{"saga_type", "event"}),
		Parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_saga_parked_total", Help: "Sagas parked after a compensation failed too often; they need an operator (strata saga retry).",
		}, []string{"saga_type"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_saga_ignored_total", Help: "Duplicate, late or stale replies and deadlines that changed nothing.",
		}, []string{"saga_type"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Events, m.Parked, m.ignored} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	return m, nil
}

func (m *Metrics) observe(sagaType string, notes []string) {
	for _, n := range notes {
		m.Events.WithLabelValues(sagaType, n).Inc()
		if n == "parked" {
			m.Parked.WithLabelValues(sagaType).Inc()
		}
	}
}

// StatesCollector exports strata_saga_instances{saga_type,status}, the number
// of saga instances in each state, counted in PostgreSQL at scrape time.
type StatesCollector struct {
	q    Querier
	desc *prometheus.Desc
}

// NewStatesCollector returns a collector over the saga tables reachable by q.
func NewStatesCollector(q Querier) *StatesCollector {
	return &StatesCollector{q: q, desc: prometheus.NewDesc("strata_saga_instances",
		"Saga instances by type and status (PARKED ones need an operator).", []string{"saga_type", "status"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *StatesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *StatesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := CountByStatus(ctx, c.q)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
