package observe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratahq/strata/messaging"
)

// DefaultReplayGroup is the consumer group `strata dlq replay` records its
// position in unless told otherwise.
const DefaultReplayGroup = "strata-dlq-replay"

type dlqCollector struct {
	kc          messaging.KafkaConfig
	topics      []string
	replayGroup string
	size, open  *prometheus.Desc

	mu    sync.Mutex
	admin *kafka.AdminClient
}

// NewDLQSizeCollector exports, at scrape time from Kafka's offsets, the size
// of the dead-letter topics of topics (each topic + messaging.DLQSuffix):
//
//	strata_messaging_dlq_messages{topic}    messages held (high - low watermark, all partitions)
//	strata_messaging_dlq_unreplayed{topic}  messages after the replay group's committed position
//
// replayGroup is the group `strata dlq replay` commits to ("" means
// DefaultReplayGroup). A topic that does not exist yet reports 0. Close
// releases the Kafka client.
func NewDLQSizeCollector(kc messaging.KafkaConfig, topics []string, replayGroup string) interface {
	prometheus.Collector
	Close()
} {
	if replayGroup == "" {
		replayGroup = DefaultReplayGroup
	}
	dlqs := make([]string, len(topics))
	for i, t := range topics {
		dlqs[i] = t + messaging.DLQSuffix
	}
	l := []string{"topic"}
	return &dlqCollector{kc: kc, topics: dlqs, replayGroup: replayGroup,
		size: prometheus.NewDesc("strata_messaging_dlq_messages", "Messages in the dead-letter topic (high minus low watermark over its partitions).", l, nil),
		open: prometheus.NewDesc("strata_messaging_dlq_unreplayed", "Dead-letter messages after the replay group's committed position (not replayed yet).", l, nil),
	}
}

func (c *dlqCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.size; ch <- c.open }

// Close releases the Kafka admin client.
func (c *dlqCollector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
}

func (c *dlqCollector) client() (*kafka.AdminClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin == nil {
		cm := kafka.ConfigMap{}
		for k, v := range c.kc {
			cm[k] = v
		}
		a, err := kafka.NewAdminClient(&cm)
		if err != nil {
			return nil, fmt.Errorf("dlq size: kafka admin: %w", err)
		}
		c.admin = a
	}
	return c.admin, nil
}

func (c *dlqCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sizes, open, err := c.measure(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.size, err)
		return
	}
	for _, t := range c.topics {
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(sizes[t]), t)
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(open[t]), t)
	}
}

func (c *dlqCollector) measure(ctx context.Context) (sizes, open map[string]int64, err error) {
	admin, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	sizes, open = map[string]int64{}, map[string]int64{}
	md, err := admin.GetMetadata(nil, true, 5000)
	if err != nil {
		return nil, nil, fmt.Errorf("dlq size: metadata: %w", err)
	}
	low := map[kafka.TopicPartition]kafka.OffsetSpec{}
	high := map[kafka.TopicPartition]kafka.OffsetSpec{}
	var parts []kafka.TopicPartition
	for _, t := range c.topics {
		tm, ok := md.Topics[t]
		if !ok || tm.Error.Code() != kafka.ErrNoError {
			continue
		}
		for _, p := range tm.Partitions {
			topic := t
			tp := kafka.TopicPartition{Topic: &topic, Partition: p.ID}
			low[tp], high[tp] = kafka.EarliestOffsetSpec, kafka.LatestOffsetSpec
			parts = append(parts, tp)
		}
	}
	if len(parts) == 0 {
		return sizes, open, nil
	}
	lows, err := admin.ListOffsets(ctx, low)
	if err != nil {
		return nil, nil, fmt.Errorf("dlq size: offsets: %w", err)
	}
	highs, err := admin.ListOffsets(ctx, high)
	if err != nil {
		return nil, nil, fmt.Errorf("dlq size: offsets: %w", err)
	}
	committed := map[string]map[int32]int64{}
	res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: c.replayGroup, Partitions: parts}})
	if err == nil {
		for _, g := range res.ConsumerGroupsTopicPartitions {
			for _, tp := range g.Partitions {
				if tp.Topic != nil && tp.Offset >= 0 {
					if committed[*tp.Topic] == nil {
						committed[*tp.Topic] = map[int32]int64{}
					}
					committed[*tp.Topic][tp.Partition] = int64(tp.Offset)
				}
			}
		}
	}
	for _, tp := range parts {
		var lo, hi int64
		for k, v := range lows.ResultInfos {
			if *k.Topic == *tp.Topic && k.Partition == tp.Partition {
				lo = int64(v.Offset)
			}
		}
		for k, v := range highs.ResultInfos {
			if *k.Topic == *tp.Topic && k.Partition == tp.Partition {
				hi = int64(v.Offset)
			}
		}
		sizes[*tp.Topic] += max(0, hi-lo)
		from := lo
		if off, ok := committed[*tp.Topic][tp.Partition]; ok && off > from {
			from = off
		}
		open[*tp.Topic] += max(0, hi-from)
	}
	return sizes, open, nil
}
