// Package service wires the order-fulfilment orchestrator: the saga engine
// on PostgreSQL (schema saga), the Kafka consumer of events.order,
// events.payment and events.inventory that starts sagas and feeds them
// replies, and the outbox relay + deadline scanner that sends the saga's
// commands to commands.<domain> and times steps out. Several instances may
// run at once: the consumer group shares partitions, the outbox and
// deadlines are claimed with SKIP LOCKED, and every transition is guarded by
// the saga's version.
package service
