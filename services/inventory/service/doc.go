// Package service wires the inventory service: the event store (product stock
// and reservation streams), failure injection, the command handlers and the
// Kafka consumer of commands.inventory. Its events reach Kafka through the
// relay (`strata relay`: events.inventory for reservations, events.stock for
// product stock).
package service
