// Package adapters connects the fulfilment orchestrator to Kafka and the
// schema registry: RegistryEncoder turns saga commands into the Confluent
// wire format (registering each command schema under its Avro full name,
// RecordNameStrategy), and KafkaTransport delivers the saga outbox with an
// idempotent producer (acks=all), waiting for every delivery report.
package adapters
