// Package ports drives the payment service from Kafka: the fulfilment saga's
// AuthorizePayment and RefundPayment commands (topic commands.payment).
package ports
