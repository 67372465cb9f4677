// Package ports drives the inventory service from Kafka: the fulfilment
// saga's ReserveStock and ReleaseStock commands (topic commands.inventory).
package ports
