package messaging

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// KafkaConfig is a set of librdkafka properties (bootstrap.servers,
// security.protocol, sasl.mechanisms, ssl.ca.location, ...). The relay and the
// consumer copy it and then set the properties they own (idempotence, acks,
// offset handling); anything else, TLS and SASL included, passes through.
type KafkaConfig map[string]string

// KafkaConfigFromEnv builds a KafkaConfig from an environment (os.Environ form):
//   - KAFKA_BROKERS sets bootstrap.servers;
//   - KAFKA_CONFIG_FILE names a properties file (key=value lines, # comments);
//   - KAFKA_CONFIG_<NAME>=value sets the property <name> with "_" read as "."
//     (KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL sets security.protocol).
//
// Later sources win: file, then KAFKA_CONFIG_*, then KAFKA_BROKERS.
func KafkaConfigFromEnv(environ []string) (KafkaConfig, error) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	cfg := KafkaConfig{}
	if path := env["KAFKA_CONFIG_FILE"]; path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("kafka config file: %w", err)
		}
		defer f.Close()
		if err := cfg.ReadProperties(f); err != nil {
			return nil, fmt.Errorf("kafka config file %s: %w", path, err)
		}
	}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, "KAFKA_CONFIG_"); ok && name != "FILE" {
			cfg[strings.ReplaceAll(strings.ToLower(name), "_", ".")] = v
		}
	}
	if b := env["KAFKA_BROKERS"]; b != "" {
		cfg["bootstrap.servers"] = b
	}
	return cfg, nil
}

// ReadProperties adds key=value lines (Java properties style, without
// escapes) from r.
func (c KafkaConfig) ReadProperties(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("line %d: want key=value: %w", n, ErrConfig)
		}
		c[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return sc.Err()
}

// Set parses one key=value property (a -X flag) into c.
func (c KafkaConfig) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("kafka property %q: want key=value: %w", kv, ErrConfig)
	}
	c[strings.TrimSpace(k)] = v
	return nil
}

// configMap copies c into a librdkafka ConfigMap and applies overrides.
func (c KafkaConfig) configMap(overrides map[string]kafka.ConfigValue) kafka.ConfigMap {
	m := kafka.ConfigMap{}
	for k, v := range c {
		m[k] = v
	}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}
