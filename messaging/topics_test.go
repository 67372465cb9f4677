package messaging

import (
	"errors"
	"testing"
)

func TestTopicSettingsFromEnv(t *testing.T) {
	s, err := TopicSettingsFromEnv([]string{"KAFKA_PARTITIONS=6", "KAFKA_REPLICATION_FACTOR=3", "KAFKA_MIN_INSYNC_REPLICAS=2", "OTHER=x"})
	if err != nil || s != (TopicSettings{Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2}) {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := TopicSettingsFromEnv(nil); err != nil || !s.IsZero() {
		t.Fatalf("empty env: %+v %v", s, err)
	}
	for _, env := range [][]string{
		{"KAFKA_PARTITIONS=three"},
		{"KAFKA_REPLICATION_FACTOR=2", "KAFKA_MIN_INSYNC_REPLICAS=3"},
		{"KAFKA_PARTITIONS=-1"},
	} {
		if _, err := TopicSettingsFromEnv(env); !errors.Is(err, ErrConfig) {
			t.Errorf("%v: %v, want ErrConfig", env, err)
		}
	}
	sp := TopicSettings{MinInsyncReplicas: 2}.spec("t")
	if sp.NumPartitions != -1 || sp.ReplicationFactor != 0 || sp.Config["min.insync.replicas"] != "2" {
		t.Fatalf("spec %+v", sp)
	}
}
