package messaging

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds the collectors the relay and the consumer update. Create it
// with NewMetrics, register it with Register (or register Collectors()
// yourself), and pass it in RelayConfig.Metrics / ConsumerConfig.Metrics. A
// nil *Metrics is valid and records nothing.
type Metrics struct {
	// Relay.
	RelayLagEvents      *prometheus.GaugeVec     // relay: events in the log after the checkpoint
	RelayLagSeconds     *prometheus.GaugeVec     // relay: age of the oldest event not yet acknowledged (0 when caught up)
	RelayProduced       *prometheus.CounterVec   // relay: events acknowledged by Kafka, by topic
	RelayFailures       *prometheus.CounterVec   // relay: failed delivery reports, by topic
	ProduceLatency      *prometheus.HistogramVec // relay: Produce call -> delivery report
	CommitToAckLatency  *prometheus.HistogramVec // relay: store commit (recorded at) -> delivery report
	RelayHeldEvents     *prometheus.GaugeVec     // relay: events waiting behind writer schemas the registry refuses
	RelaySchemaRefusals *prometheus.CounterVec   // relay: registry refusals of a writer schema, by subject
	RelayQuarantined    *prometheus.GaugeVec     // relay: events Kafka refused, held until skipped
	// Consumer.
	ConsumerLag      *prometheus.GaugeVec     // consumer: high watermark - committed position, per partition
	HandlerLatency   *prometheus.HistogramVec // consumer: one handler attempt including its transaction
	Handled          *prometheus.CounterVec   // consumer: messages finished, by outcome (handled, duplicate, skipped, dlq)
	Retries          *prometheus.CounterVec   // consumer: handler attempts after the first
	DLQ              *prometheus.CounterVec   // consumer: messages sent to the dead-letter topic, by kind
	InfraFailures    *prometheus.CounterVec   // consumer: attempts failed by PostgreSQL, the registry or the commit (not the handler)
	ConsumerAssigned *prometheus.GaugeVec     // consumer: partitions assigned to this member now
}

// NewMetrics creates the collectors, named strata_messaging_*.
func NewMetrics() *Metrics {
	const ns, sub = "strata", "messaging"
	lat := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	return &Metrics{
		RelayLagEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_lag_events", Help: "Events in the global log after the relay's acknowledged position."}, []string{"relay"}),
		RelayLagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_lag_seconds", Help: "Age of the oldest event the relay has not had acknowledged (0 when caught up)."}, []string{"relay"}),
		RelayProduced: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_produced_total", Help: "Events acknowledged by Kafka."}, []string{"relay", "topic"}),
		RelayFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_delivery_failures_total", Help: "Delivery reports with an error."}, []string{"relay", "topic"}),
		ProduceLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_produce_seconds", Help: "Produce call to delivery report.", Buckets: lat}, []string{"relay"}),
		CommitToAckLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_commit_to_ack_seconds", Help: "Event store commit to Kafka acknowledgement.", Buckets: lat}, []string{"relay"}),
		RelayQuarantined: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_quarantined_events", Help: "Events Kafka refused (too large, invalid) that the relay holds at until an operator skips them (strata relay quarantine)."}, []string{"relay"}),
		RelayHeldEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_held_events", Help: "Events waiting behind a writer schema the schema registry refuses (and later events of their streams)."}, []string{"relay"}),
		RelaySchemaRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "relay_schema_refusals_total", Help: "Schema registry refusals of a writer schema (incompatible, invalid, or not registered while the relay does not register), by subject."}, []string{"relay", "subject"}),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_lag", Help: "High watermark minus the group's processed position, per partition."}, []string{"group", "topic", "partition"}),
		HandlerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "handler_seconds", Help: "One handler attempt, transaction included.", Buckets: lat}, []string{"group", "event_type"}),
		Handled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_messages_total", Help: "Messages finished by outcome: handled, duplicate, skipped, dlq."}, []string{"group", "topic", "outcome"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_retries_total", Help: "Handler attempts after the first."}, []string{"group", "topic"}),
		DLQ: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_dlq_total", Help: "Messages sent to the dead-letter topic, by poison kind."}, []string{"group", "topic", "kind"}),
		InfraFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_infra_failures_total", Help: "Attempts failed by PostgreSQL, the schema registry or the commit (retried with backoff, never dead-lettered)."}, []string{"group", "topic"}),
		ConsumerAssigned: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "consumer_assigned_partitions", Help: "Partitions assigned to this consumer now (0 until it has joined its group)."}, []string{"group"}),
	}
}

// Collectors returns every collector, for a caller's own registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.RelayLagEvents, m.RelayLagSeconds, m.RelayProduced, m.RelayFailures,
		m.ProduceLatency, m.CommitToAckLatency, m.RelayHeldEvents, m.RelaySchemaRefusals, m.RelayQuarantined,
		m.ConsumerLag, m.HandlerLatency, m.Handled, m.Retries, m.DLQ, m.InfraFailures, m.ConsumerAssigned}
}

// Register registers every collector with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range m.Collectors() {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
