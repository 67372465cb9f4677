package messaging

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// TopicSettings are what Strata asks for when it creates a topic. A zero
// field leaves the choice to the broker (num.partitions,
// default.replication.factor, min.insync.replicas), which is the safe default:
// a cluster configured for replication gets it even for topics nobody
// declared. Set them to make the replication of Strata's topics explicit
// whatever the broker's defaults are.
type TopicSettings struct {
	Partitions        int // KAFKA_PARTITIONS
	ReplicationFactor int // KAFKA_REPLICATION_FACTOR
	MinInsyncReplicas int // KAFKA_MIN_INSYNC_REPLICAS; with acks=all, writes need this many in-sync replicas
}

// TopicSettingsFromEnv reads KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR and
// KAFKA_MIN_INSYNC_REPLICAS from an environment (os.Environ form); unset or
// empty means the broker's default.
func TopicSettingsFromEnv(environ []string) (TopicSettings, error) {
	var s TopicSettings
	var errs []error
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		var dst *int
		switch k {
		case "KAFKA_PARTITIONS":
			dst = &s.Partitions
		case "KAFKA_REPLICATION_FACTOR":
			dst = &s.ReplicationFactor
		case "KAFKA_MIN_INSYNC_REPLICAS":
			dst = &s.MinInsyncReplicas
		default:
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a number: %w", k, v, ErrConfig))
			continue
		}
		*dst = n
	}
	if err := errors.Join(errs...); err != nil {
		return TopicSettings{}, err
	}
	return s, s.Validate()
}

// Validate reports every problem at once.
func (s TopicSettings) Validate() error {
	var errs []error
	if s.Partitions < 0 || s.ReplicationFactor < 0 || s.MinInsyncReplicas < 0 {
		errs = append(errs, fmt.Errorf("topic settings %+v: negative values: %w", s, ErrConfig))
	}
	if s.ReplicationFactor > 0 && s.MinInsyncReplicas > s.ReplicationFactor {
		errs = append(errs, fmt.Errorf("topic settings: min.insync.replicas %d > replication factor %d: every acks=all write would fail: %w",
			s.MinInsyncReplicas, s.ReplicationFactor, ErrConfig))
	}
	return errors.Join(errs...)
}

// IsZero reports whether every choice is left to the broker.
func (s TopicSettings) IsZero() bool { return s == TopicSettings{} }

// spec is the topic's creation request; zero fields become the broker's defaults.
func (s TopicSettings) spec(topic string) kafka.TopicSpecification {
	ts := kafka.TopicSpecification{Topic: topic, NumPartitions: -1, ReplicationFactor: s.ReplicationFactor}
	if s.Partitions > 0 {
		ts.NumPartitions = s.Partitions
	}
	if s.MinInsyncReplicas > 0 {
		ts.Config = map[string]string{"min.insync.replicas": strconv.Itoa(s.MinInsyncReplicas)}
	}
	return ts
}

// EnsureTopics creates the topics that do not exist yet with settings s;
// existing topics are left as they are (their settings are not compared).
// It takes the bootstrap servers and security properties from kc.
func EnsureTopics(ctx context.Context, kc KafkaConfig, s TopicSettings, topics ...string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(topics) == 0 {
		return nil
	}
	cm := kc.configMap(nil)
	a, err := kafka.NewAdminClient(&cm)
	if err != nil {
		return fmt.Errorf("ensure topics: %w: %w", ErrConfig, err)
	}
	defer a.Close()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	specs := make([]kafka.TopicSpecification, len(topics))
	for i, t := range topics {
		specs[i] = s.spec(t)
	}
	res, err := a.CreateTopics(ctx, specs)
	if err != nil {
		return fmt.Errorf("ensure topics %v: %w", topics, err)
	}
	var errs []error
	for _, r := range res {
		switch r.Error.Code() {
		case kafka.ErrNoError, kafka.ErrTopicAlreadyExists:
		default:
			errs = append(errs, fmt.Errorf("create topic %s (%+v): %w", r.Topic, s, r.Error))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return awaitTopics(ctx, a, topics)
}

// awaitTopics waits until the broker's metadata lists every topic with its
// partitions. A consumer that subscribes to a topic created a moment ago
// and not yet in the metadata it gets would see the topic only at its next
// metadata refresh (topic.metadata.refresh.interval.ms, five minutes by
// default): on a fresh stack its service would look up and consume nothing.
func awaitTopics(ctx context.Context, a *kafka.AdminClient, topics []string) error {
	for {
		md, err := a.GetMetadata(nil, true, timeoutMs(ctx, 5*time.Second))
		missing := ""
		if err == nil {
			for _, t := range topics {
				tm, ok := md.Topics[t]
				if !ok || tm.Error.Code() != kafka.ErrNoError || len(tm.Partitions) == 0 {
					missing = t
					break
				}
			}
			if missing == "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ensure topics: %s not in the broker's metadata: %w", missing, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
