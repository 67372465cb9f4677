// Package ports drives the fulfilment orchestrator from Kafka: a consumer
// group on the order, payment and inventory event topics whose handlers run
// inside the consumer runtime's transaction, so the saga's state change, its
// outbox row and the processed-event marker commit together.
package ports
