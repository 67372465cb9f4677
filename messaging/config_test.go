package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
)

func TestKafkaConfigFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(file, []byte("# comment\nsecurity.protocol=SSL\nsasl.mechanisms = PLAIN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := messaging.KafkaConfigFromEnv([]string{
		"KAFKA_BROKERS=b1:9092,b2:9092",
		"KAFKA_CONFIG_FILE=" + file,
		"KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL",
		"KAFKA_CONFIG_SSL_CA_LOCATION=/etc/ca.pem",
		"OTHER=x",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := messaging.KafkaConfig{
		"bootstrap.servers": "b1:9092,b2:9092", "security.protocol": "SASL_SSL",
		"sasl.mechanisms": "PLAIN", "ssl.ca.location": "/etc/ca.pem",
	}
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", cfg, want)
	}
	if err := cfg.Set("novalue"); !errors.Is(err, messaging.ErrConfig) {
		t.Errorf("Set without '=': %v", err)
	}
}

func TestConfigValidateReportsEverything(t *testing.T) {
	rc := messaging.RelayConfig{Kafka: messaging.KafkaConfig{"acks": "1"}, BatchSize: 10, MaxInFlight: 5}
	err := rc.Validate()
	for _, want := range []string{"Log", "DB", "Registry", "bootstrap.servers", "BatchSize", "acks=1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("relay Validate() = %v, want a problem about %s", err, want)
		}
	}
	if !errors.Is(err, messaging.ErrConfig) {
		t.Errorf("relay Validate() does not wrap ErrConfig")
	}
	types, _ := serde.NewRegistry()
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, env messaging.Envelope, ev *struct{ X int }) error { return nil })
	cc := messaging.ConsumerConfig{Router: r, Kafka: messaging.KafkaConfig{"enable.auto.commit": "true"}, DBTimeout: -time.Second}
	err = cc.Validate()
	for _, want := range []string{"Group", "Topics", "DB", "Registry", "Decoder", "serde: unknown type", "enable.auto.commit", "DBTimeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("consumer Validate() = %v, want a problem about %s", err, want)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errors.New("db down"), true},
		{messaging.Permanent(errors.New("bad")), false},
		{fmt.Errorf("x: %w", messaging.Permanent(errors.New("bad"))), false},
		{fmt.Errorf("x: %w", messaging.ErrDecode), false},
		{&messaging.PoisonError{Kind: messaging.PoisonNotWireFormat, Err: messaging.ErrNotWireFormat}, false},
		{nil, false},
	} {
		if got := messaging.IsRetryable(c.err); got != c.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(serde.ErrNotWireFormat, messaging.ErrNotWireFormat) {
		t.Error("messaging.ErrNotWireFormat is not serde's")
	}
}

func TestDLQFilterAt(t *testing.T) {
	d := messaging.DeadLetter{Key: "k", Partition: 1, Offset: 7}
	for _, c := range []struct {
		f    messaging.DLQFilter
		want bool
	}{
		{messaging.DLQFilter{}, true},
		{messaging.DLQFilter{At: []messaging.DLQPosition{{1, 7}}}, true},
		{messaging.DLQFilter{At: []messaging.DLQPosition{{0, 7}, {1, 8}}}, false},
		{messaging.DLQFilter{Key: "other", At: []messaging.DLQPosition{{1, 7}}}, false},
	} {
		if got := c.f.Match(d); got != c.want {
			t.Errorf("%+v.Match = %v, want %v", c.f, got, c.want)
		}
	}
}
