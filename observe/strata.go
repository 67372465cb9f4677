package observe

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/projection"
)

// latencyBuckets are the seconds buckets of Strata's latency histograms.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// freshnessBuckets reach further: a read model may be minutes behind during a rebuild.
var freshnessBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// StoreMetrics are the event store's append metrics. Pass its Observe method
// as eventstore.Config.OnAppend.
type StoreMetrics struct {
	AppendSeconds *prometheus.HistogramVec // strata_eventstore_append_seconds{stream_type,outcome}
	AppendBatch   *prometheus.HistogramVec // strata_eventstore_append_batch_events{stream_type}
}

// NewStoreMetrics creates the append collectors and registers them with reg
// (nil: not registered). A collector already registered is reused, so two
// stores in one process share the series.
func NewStoreMetrics(reg prometheus.Registerer) (*StoreMetrics, error) {
	m := &StoreMetrics{
		AppendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_eventstore_append_seconds",
			Help:    "Event store Append latency (one transaction, one round trip), by stream type and outcome (ok, replayed, conflict, error).",
			Buckets: latencyBuckets,
		}, []string{"stream_type", "outcome"}),
		AppendBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_eventstore_append_batch_events",
			Help:    "Events per successful Append call, by stream type.",
			Buckets: []float64{1, 2, 3, 5, 10, 20, 50, 100, 500},
		}, []string{"stream_type"}),
	}
	var err error
	m.AppendSeconds, err = register(reg, m.AppendSeconds)
	if err != nil {
		return nil, err
	}
	m.AppendBatch, err = register(reg, m.AppendBatch)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Observe records one append; use it as eventstore.Config.OnAppend.
func (m *StoreMetrics) Observe(o eventstore.AppendObservation) {
	outcome := "ok"
	switch {
	case errors.Is(o.Err, eventstore.ErrVersionConflict):
		outcome = "conflict"
	case o.Err != nil:
		outcome = "error"
	case o.Replayed:
		outcome = "replayed"
	}
	m.AppendSeconds.WithLabelValues(o.StreamType, outcome).Observe(o.Duration.Seconds())
	if o.Err == nil && !o.Replayed {
		m.AppendBatch.WithLabelValues(o.StreamType).Observe(float64(o.Events))
	}
}

// register registers c with reg, returning the collector already registered
// under the same descriptor when there is one.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// HeldBacker is what the held-back collector needs: *eventstore.Store.
type HeldBacker interface {
	HeldBack(ctx context.Context) (eventstore.HeldBack, error)
}

// heldBackCollector measures, at scrape time, how long readers of the global
// log are held back by in-flight transactions (architecture decision 3).
type heldBackCollector struct {
	s                     HeldBacker
	gapAge, waiting, xact *prometheus.Desc
}

// NewHeldBackCollector returns a collector over the store's HeldBack:
//
//	strata_eventstore_held_back_seconds  how long committed events have waited behind an open transaction (0: none waiting)
//	strata_eventstore_held_back_events   committed events readers cannot see yet (capped at 100,000)
//	strata_eventstore_oldest_transaction_seconds  age of the transaction at the read horizon (0: none)
func NewHeldBackCollector(s HeldBacker) prometheus.Collector {
	return &heldBackCollector{
		s: s,
		gapAge: prometheus.NewDesc("strata_eventstore_held_back_seconds",
			"How long readers of the global log have been held back by the oldest in-flight transaction (0 when no committed event waits behind it).", nil, nil),
		waiting: prometheus.NewDesc("strata_eventstore_held_back_events",
			"Committed events that readers of the global log cannot see yet because an older transaction is open (capped at 100000).", nil, nil),
		xact: prometheus.NewDesc("strata_eventstore_oldest_transaction_seconds",
			"Age of the in-flight transaction at the global log's read horizon (0 when none).", nil, nil),
	}
}

func (c *heldBackCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.gapAge
	ch <- c.waiting
	ch <- c.xact
}

func (c *heldBackCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := c.s.HeldBack(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.gapAge, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.gapAge, prometheus.GaugeValue, h.GapAge().Seconds())
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(h.Waiting))
	age := 0.0
	if h.InFlight {
		age = h.Age.Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.xact, prometheus.GaugeValue, age)
}

// ProjectionMetrics measure the read side: how fresh the read models are
// (event recorded -> applied) and what the runner did with each event.
type ProjectionMetrics struct {
	Freshness *prometheus.HistogramVec // strata_projection_freshness_seconds{projection}
	Events    *prometheus.CounterVec   // strata_projection_events_total{projection,outcome}
	now       func() time.Time
}

// NewProjectionMetrics creates the read-side collectors and registers them
// with reg (nil: not registered).
func NewProjectionMetrics(reg prometheus.Registerer) (*ProjectionMetrics, error) {
	m := &ProjectionMetrics{
		Freshness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_projection_freshness_seconds",
			Help:    "End-to-end freshness: the event's recorded_at (store commit) to its application to a read model, by projection.",
			Buckets: freshnessBuckets,
		}, []string{"projection"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_projection_events_total",
			Help: "Events handed to a projection, by outcome (applied, skipped: already applied).",
		}, []string{"projection", "outcome"}),
		now: time.Now,
	}
	var err error
	if m.Freshness, err = register(reg, m.Freshness); err != nil {
		return nil, err
	}
	if m.Events, err = register(reg, m.Events); err != nil {
		return nil, err
	}
	return m, nil
}

// Instrument sets r.OnApply to record freshness and outcomes, calling any
// OnApply that was set before.
func (m *ProjectionMetrics) Instrument(r *projection.Runner) {
	prev := r.OnApply
	r.OnApply = func(p projection.Projection, ev projection.Event, o projection.Outcome) {
		m.Observe(p.Name(), ev, o)
		if prev != nil {
			prev(p, ev, o)
		}
	}
}

// Observe records one event handed to the named projection.
func (m *ProjectionMetrics) Observe(name string, ev projection.Event, o projection.Outcome) {
	switch o {
	case projection.Applied:
		m.Events.WithLabelValues(name, "applied").Inc()
		if !ev.RecordedAt.IsZero() {
			m.Freshness.WithLabelValues(name).Observe(max(0, m.now().Sub(ev.RecordedAt).Seconds()))
		}
	case projection.Skipped:
		m.Events.WithLabelValues(name, "skipped").Inc()
	case projection.Ignored:
	}
}

// ProjectionStatuser is what the projection status collector needs: *projection.Runner.
type ProjectionStatuser interface {
	Status(ctx context.Context) ([]projection.Status, error)
}

type projectionStatusCollector struct {
	r                          ProjectionStatuser
	lag, failures, age, behind *prometheus.Desc
}

// NewProjectionStatusCollector exports the projections' status rows at scrape time:
//
//	strata_projection_lag_events{projection}      events of its types in the store beyond its position
//	strata_projection_failures_total{projection}  failed apply attempts (counter kept in PostgreSQL)
//	strata_projection_lag_seconds{projection}     now - recorded_at of the last applied event, while lag > 0 (else 0)
//	strata_projection_position{projection}        highest global position applied
func NewProjectionStatusCollector(r ProjectionStatuser) prometheus.Collector {
	l := []string{"projection"}
	return &projectionStatusCollector{
		r:        r,
		lag:      prometheus.NewDesc("strata_projection_lag_events", "Events of the projection's types in the store beyond the position it applied.", l, nil),
		failures: prometheus.NewDesc("strata_projection_failures_total", "Failed attempts to apply an event to the projection (kept in read.projection_status).", l, nil),
		age:      prometheus.NewDesc("strata_projection_lag_seconds", "While the projection lags: age of the last event it applied (0 when caught up).", l, nil),
		behind:   prometheus.NewDesc("strata_projection_position", "Highest global log position the projection applied.", l, nil),
	}
}

func (c *projectionStatusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.failures
	ch <- c.age
	ch <- c.behind
}

func (c *projectionStatusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sts, err := c.r.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.lag, err)
		return
	}
	now := time.Now()
	for _, s := range sts {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(s.Lag), s.Name)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.Failures), s.Name)
		age := 0.0
		if s.Lag > 0 && !s.LastEventAt.IsZero() {
			age = max(0, now.Sub(s.LastEventAt).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, s.Name)
		ch <- prometheus.MustNewConstMetric(c.behind, prometheus.GaugeValue, float64(s.Position), s.Name)
	}
}
