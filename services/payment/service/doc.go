// Package service wires the payment service: the event store, the simulated
// card gateway, the command handlers and the Kafka consumer of
// commands.payment. Its events reach Kafka through the relay (`strata relay`,
// topic events.payment).
package service
