package adapters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/serde"
)

// RegistryEncoder is a saga.Encoder producing the Confluent wire format.
type RegistryEncoder struct {
	types *serde.Registry
	reg   messaging.Registry
	mu    sync.Mutex
	ids   map[string]int // type name -> registry schema id
}

var _ saga.Encoder = (*RegistryEncoder)(nil)

// NewRegistryEncoder returns an encoder over the type registry and the
// schema registry client.
func NewRegistryEncoder(types *serde.Registry, reg messaging.Registry) *RegistryEncoder {
	return &RegistryEncoder{types: types, reg: reg, ids: map[string]int{}}
}

// Encode implements saga.Encoder.
func (e *RegistryEncoder) Encode(_ context.Context, c saga.Command) ([]byte, error) {
	t, body, err := e.types.Encode(c.Value)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Type, err)
	}
	if t.Name != c.Type {
		return nil, fmt.Errorf("command type %s but value is %s", c.Type, t.Name)
	}
	id, err := e.schemaID(t)
	if err != nil {
		return nil, err
	}
	return serde.AppendWire(make([]byte, 0, serde.WireHeaderLen+len(body)), id, body), nil
}

// schemaID looks the type's current schema up in the registry under its full
// name, registering it when it is not there yet.
func (e *RegistryEncoder) schemaID(t serde.Type) (int, error) {
	e.mu.Lock()
	id, ok := e.ids[t.Name]
	e.mu.Unlock()
	if ok {
		return id, nil
	}
	s, err := e.reg.LookupSchema(t.Name, t.JSON, srclient.Avro)
	if err != nil {
		if !client.IsNotFound(err) {
			return 0, fmt.Errorf("look up schema %s: %w", t.Name, err)
		}
		if s, err = e.reg.CreateSchema(t.Name, t.JSON, srclient.Avro); err != nil {
			return 0, fmt.Errorf("register schema %s: %w", t.Name, err)
		}
	}
	e.mu.Lock()
	e.ids[t.Name] = s.ID()
	e.mu.Unlock()
	return s.ID(), nil
}

// KafkaTransport sends saga commands to Kafka.
type KafkaTransport struct {
	p           *kafka.Producer
	topicPrefix string
	timeout     time.Duration
}

var _ saga.Transport = (*KafkaTransport)(nil)

// NewKafkaTransport returns a transport producing with cfg (librdkafka
// properties; bootstrap.servers required). Topics get topicPrefix in front
// (tests use it to stay apart). Send waits at most sendTimeout (default 30s).
func NewKafkaTransport(cfg messaging.KafkaConfig, topicPrefix string, sendTimeout time.Duration) (*KafkaTransport, error) {
	if cfg["bootstrap.servers"] == "" {
		return nil, errors.New("saga kafka transport: bootstrap.servers is required")
	}
	cm := kafka.ConfigMap{}
	for k, v := range cfg {
		cm[k] = v
	}
	cm["enable.idempotence"] = true
	cm["acks"] = "all"
	cm["go.delivery.reports"] = true
	if _, ok := cfg["linger.ms"]; !ok {
		cm["linger.ms"] = 2
	}
	p, err := kafka.NewProducer(&cm)
	if err != nil {
		return nil, fmt.Errorf("saga kafka transport: %w", err)
	}
	go func() {
		for range p.Events() { // drain errors reported outside deliveries
		}
	}()
	if sendTimeout <= 0 {
		sendTimeout = 30 * time.Second
	}
	return &KafkaTransport{p: p, topicPrefix: topicPrefix, timeout: sendTimeout}, nil
}

// Send implements saga.Transport: every message is produced keyed by its
// key, with the event-id (command id), event-type, correlation-id (saga id)
// and saga headers, and Send returns once Kafka acknowledged all of them.
func (t *KafkaTransport) Send(ctx context.Context, msgs []saga.Message) error {
	done := make(chan kafka.Event, len(msgs))
	for _, m := range msgs {
		topic := t.topicPrefix + m.Topic
		corr := m.Headers[saga.HeaderCorrelationID]
		if corr == "" {
			corr = m.Key
		}
		headers := []kafka.Header{
			{Key: messaging.HeaderEventID, Value: []byte(m.ID)},
			{Key: messaging.HeaderEventType, Value: []byte(m.Type)},
			{Key: messaging.HeaderCorrelationID, Value: []byte(corr)},
			{Key: messaging.HeaderContentType, Value: []byte(messaging.ContentTypeAvro)},
		}
		for k, v := range m.Headers {
			if k == saga.HeaderCorrelationID {
				continue
			}
			headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
		}
		err := t.p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(m.Key), Value: m.Payload, Headers: headers,
		}, done)
		if err != nil {
			return fmt.Errorf("produce %s to %s: %w", m.ID, topic, err)
		}
	}
	timer := time.NewTimer(t.timeout)
	defer timer.Stop()
	var errs []error
	for range msgs {
		select {
		case ev := <-done:
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				errs = append(errs, m.TopicPartition.Error)
			}
		case <-timer.C:
			return fmt.Errorf("saga kafka transport: no delivery report within %s", t.timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("saga kafka transport: %w", err)
	}
	return nil
}

// Close flushes and closes the producer.
func (t *KafkaTransport) Close() {
	t.p.Flush(5000)
	t.p.Close()
}
