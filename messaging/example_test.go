package messaging_test

import (
	"fmt"

	"github.com/stratahq/strata/messaging"
)

// Kafka settings from the environment: KAFKA_BROKERS and any librdkafka
// property as KAFKA_CONFIG_<NAME> ("_" read as ".").
func ExampleKafkaConfigFromEnv() {
	kc, err := messaging.KafkaConfigFromEnv([]string{
		"KAFKA_BROKERS=broker-1:9092,broker-2:9092",
		"KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL",
		"HOME=/root",
	})
	fmt.Println(kc["bootstrap.servers"], kc["security.protocol"], len(kc), err)
	// Output: broker-1:9092,broker-2:9092 SASL_SSL 2 <nil>
}

// The relay publishes each event to events.<stream type>, keyed by its stream.
func ExampleDefaultRoute() {
	fmt.Println(messaging.DefaultRoute(&messaging.LogEvent{StreamID: "account-acc-1", StreamType: "account"}))
	// Output: events.account
}
