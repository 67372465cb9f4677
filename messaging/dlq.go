package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/serde"
)

// DeadLetter is one message of a dead-letter topic with its dead-letter
// headers parsed.
type DeadLetter struct {
	Topic             string
	Partition         int32
	Offset            int64
	Key               string
	Value             []byte
	Headers           []kafka.Header // all of them, original and dead-letter
	Kind              PoisonKind
	Error             string
	Attempts          int
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64
	FirstFailure      time.Time
	LastFailure       time.Time
	ConsumerGroup     string
	EventID           string
	EventType         string
}

// ParseDeadLetter reads the dead-letter headers of m.
func ParseDeadLetter(m *kafka.Message) DeadLetter {
	h := func(k string) string { return Header(m.Headers, k) }
	d := DeadLetter{
		Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset),
		Key: string(m.Key), Value: m.Value, Headers: m.Headers,
		Kind: PoisonKind(h(HeaderDLQKind)), Error: h(HeaderDLQError),
		OriginalTopic: h(HeaderDLQOriginalTopic), ConsumerGroup: h(HeaderDLQConsumerGroup),
		EventID: h(HeaderEventID), EventType: h(HeaderEventType),
	}
	if m.TopicPartition.Topic != nil {
		d.Topic = *m.TopicPartition.Topic
	}
	d.Attempts, _ = strconv.Atoi(h(HeaderDLQAttempts))
	p, _ := strconv.ParseInt(h(HeaderDLQOriginalPartition), 10, 32)
	d.OriginalPartition = int32(p)
	d.OriginalOffset, _ = strconv.ParseInt(h(HeaderDLQOriginalOffset), 10, 64)
	d.FirstFailure, _ = time.Parse(time.RFC3339Nano, h(HeaderDLQFirstFailure))
	d.LastFailure, _ = time.Parse(time.RFC3339Nano, h(HeaderDLQLastFailure))
	return d
}

// DLQFilter selects dead letters; zero fields select everything.
type DLQFilter struct {
	Key   string        // exact message key
	Since time.Time     // last failure at or after
	At    []DLQPosition // only these messages (of the dead-letter topic)
}

// DLQPosition is one message's place in a dead-letter topic.
type DLQPosition struct {
	Partition int32
	Offset    int64
}

// Match reports whether d passes the filter.
func (f DLQFilter) Match(d DeadLetter) bool {
	if f.Key != "" && d.Key != f.Key {
		return false
	}
	if !f.Since.IsZero() && d.LastFailure.Before(f.Since) {
		return false
	}
	if len(f.At) > 0 && !slices.Contains(f.At, DLQPosition{d.Partition, d.Offset}) {
		return false
	}
	return true
}

// ReadDLQ calls fn for every message of the dead-letter topic that passes
// filter, partition by partition in offset order, up to the high watermarks
// seen when it starts. It commits nothing and joins no group.
func ReadDLQ(ctx context.Context, kc KafkaConfig, topic string, filter DLQFilter, fn func(DeadLetter) error) error {
	cm := kc.configMap(map[string]kafka.ConfigValue{
		"group.id": "strata-dlq-reader", "enable.auto.commit": false, "enable.partition.eof": true,
	})
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		return fmt.Errorf("dlq read %s: %w: %w", topic, ErrConfig, err)
	}
	defer c.Close()
	ends, err := watermarks(ctx, c, topic)
	if err != nil {
		return err
	}
	var assign []kafka.TopicPartition
	for p, w := range ends {
		if w[1] > w[0] {
			assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(w[0])})
		}
	}
	if len(assign) == 0 {
		return nil
	}
	if err := c.Assign(assign); err != nil {
		return fmt.Errorf("dlq read %s: %w", topic, err)
	}
	done := map[int32]bool{}
	for len(done) < len(assign) {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch e := c.Poll(200).(type) {
		case kafka.PartitionEOF:
			done[e.Partition] = true
		case *kafka.Message:
			p := e.TopicPartition.Partition
			if int64(e.TopicPartition.Offset) >= ends[p][1] {
				done[p] = true
				continue
			}
			d := ParseDeadLetter(e)
			if filter.Match(d) {
				if err := fn(d); err != nil {
					return err
				}
			}
			if int64(e.TopicPartition.Offset) == ends[p][1]-1 {
				done[p] = true
			}
		case kafka.Error:
			if e.IsFatal() {
				return fmt.Errorf("dlq read %s: %w", topic, e)
			}
		}
	}
	return nil
}

// watermarks returns [low, high) per partition of topic.
func watermarks(ctx context.Context, c *kafka.Consumer, topic string) (map[int32][2]int64, error) {
	md, err := c.GetMetadata(&topic, false, timeoutMs(ctx, 10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() == kafka.ErrUnknownTopicOrPart {
		return nil, fmt.Errorf("topic %s: %w", topic, kafka.NewError(kafka.ErrUnknownTopicOrPart, "unknown topic", false))
	}
	out := make(map[int32][2]int64, len(tm.Partitions))
	for _, p := range tm.Partitions {
		lo, hi, err := c.QueryWatermarkOffsets(topic, p.ID, timeoutMs(ctx, 10*time.Second))
		if err != nil {
			return nil, fmt.Errorf("watermarks %s[%d]: %w", topic, p.ID, err)
		}
		out[p.ID] = [2]int64{lo, hi}
	}
	return out, nil
}

func timeoutMs(ctx context.Context, def time.Duration) int {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < def {
			return max(1, int(d.Milliseconds()))
		}
	}
	return int(def.Milliseconds())
}

// ReplayConfig configures ReplayDLQ.
type ReplayConfig struct {
	Kafka  KafkaConfig
	Topic  string // the dead-letter topic
	Group  string // consumer group whose position on Topic records what was replayed; default "strata-dlq-replay"
	Filter DLQFilter
	DryRun bool // report what would be replayed; produce and commit nothing
}

// ReplayResult counts what ReplayDLQ did.
type ReplayResult struct {
	Replayed int // re-produced to their original topics
	Skipped  int // passed over by the filter (still committed past)
}

// ReplayDLQ re-produces dead letters to their original topics and then
// commits the replay group's position on the dead-letter topic, so a second
// run does not replay them again. It reads from the group's committed
// position (the start for a new group) up to the high watermarks seen when it
// starts. Each replayed message keeps its key, value and original headers
// (dead-letter headers are dropped) and gains dlq-replayed-from. Messages the
// filter rejects are passed over and committed past for this group too: list
// still shows them, and another --group replays them. Positions are committed
// only after every replayed message's delivery is confirmed.
func ReplayDLQ(ctx context.Context, cfg ReplayConfig, fn func(DeadLetter)) (ReplayResult, error) {
	var res ReplayResult
	if cfg.Group == "" {
		cfg.Group = "strata-dlq-replay"
	}
	if cfg.Topic == "" {
		return res, fmt.Errorf("dlq replay: no topic: %w", ErrConfig)
	}
	cm := cfg.Kafka.configMap(map[string]kafka.ConfigValue{
		"group.id": cfg.Group, "enable.auto.commit": false, "enable.auto.offset.store": false,
		"enable.partition.eof": true,
	})
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		return res, fmt.Errorf("dlq replay: %w: %w", ErrConfig, err)
	}
	defer c.Close()
	ends, err := watermarks(ctx, c, cfg.Topic)
	if err != nil {
		return res, err
	}
	topic := cfg.Topic
	var tps []kafka.TopicPartition
	for p := range ends {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	committed, err := c.Committed(tps, timeoutMs(ctx, 10*time.Second))
	if err != nil {
		return res, fmt.Errorf("dlq replay committed offsets: %w", err)
	}
	var assign []kafka.TopicPartition
	for _, tp := range committed {
		start := ends[tp.Partition][0]
		if tp.Offset >= 0 && int64(tp.Offset) > start {
			start = int64(tp.Offset)
		}
		if start < ends[tp.Partition][1] {
			assign = append(assign, kafka.TopicPartition{Topic: &topic, Partition: tp.Partition, Offset: kafka.Offset(start)})
		}
	}
	if len(assign) == 0 {
		return res, nil
	}
	var p *kafka.Producer
	if !cfg.DryRun {
		pm := cfg.Kafka.configMap(map[string]kafka.ConfigValue{"enable.idempotence": true, "acks": "all"})
		if p, err = kafka.NewProducer(&pm); err != nil {
			return res, fmt.Errorf("dlq replay producer: %w: %w", ErrConfig, err)
		}
		defer p.Close()
		go func() {
			for range p.Events() {
			}
		}()
	}
	if err := c.Assign(assign); err != nil {
		return res, fmt.Errorf("dlq replay assign: %w", err)
	}
	reports := make(chan kafka.Event, 1024)
	pending := 0
	next := map[int32]int64{}
	var firstErr error
	done := map[int32]bool{}
	for len(done) < len(assign) && ctx.Err() == nil {
		ev := c.Poll(200)
		if eof, ok := ev.(kafka.PartitionEOF); ok {
			done[eof.Partition] = true
			continue
		}
		m, ok := ev.(*kafka.Message)
		if !ok {
			continue
		}
		part, off := m.TopicPartition.Partition, int64(m.TopicPartition.Offset)
		if off >= ends[part][1] {
			done[part] = true
			continue
		}
		d := ParseDeadLetter(m)
		if cfg.Filter.Match(d) && d.OriginalTopic != "" {
			if fn != nil {
				fn(d)
			}
			if !cfg.DryRun {
				orig := d.OriginalTopic
				err := p.Produce(&kafka.Message{
					TopicPartition: kafka.TopicPartition{Topic: &orig, Partition: kafka.PartitionAny},
					Key:            m.Key, Value: m.Value, Timestamp: m.Timestamp,
					Headers: append(originalHeaders(m.Headers), kafka.Header{Key: "dlq-replayed-from",
						Value: []byte(fmt.Sprintf("%s/%d/%d", topic, part, off))}),
				}, reports)
				if err != nil {
					firstErr = fmt.Errorf("dlq replay produce: %w", err)
					break
				}
				pending++
			}
			res.Replayed++
		} else {
			res.Skipped++
		}
		next[part] = off + 1
		if off == ends[part][1]-1 {
			done[part] = true
		}
	}
	for ; pending > 0; pending-- {
		select {
		case ev := <-reports:
			if dm, ok := ev.(*kafka.Message); ok && dm.TopicPartition.Error != nil && firstErr == nil {
				firstErr = fmt.Errorf("dlq replay delivery: %w: %w", ErrDelivery, dm.TopicPartition.Error)
			}
		case <-time.After(60 * time.Second):
			return res, fmt.Errorf("dlq replay: %d deliveries unconfirmed after 60s; nothing committed: %w", pending, ErrDelivery)
		}
	}
	if firstErr != nil {
		return res, fmt.Errorf("%w (nothing committed)", firstErr)
	}
	if cfg.DryRun || len(next) == 0 {
		return res, ctx.Err()
	}
	var offs []kafka.TopicPartition
	for part, off := range next {
		offs = append(offs, kafka.TopicPartition{Topic: &topic, Partition: part, Offset: kafka.Offset(off)})
	}
	if _, err := c.CommitOffsets(offs); err != nil {
		return res, fmt.Errorf("dlq replay commit (messages were replayed): %w", err)
	}
	return res, ctx.Err()
}

// originalHeaders drops the dead-letter headers.
func originalHeaders(hs []kafka.Header) []kafka.Header {
	out := make([]kafka.Header, 0, len(hs))
	for _, h := range hs {
		if !strings.HasPrefix(h.Key, "dlq-") {
			out = append(out, h)
		}
	}
	return out
}

// DecodeJSON decodes a Confluent wire-format Avro value with its writer
// schema from the registry into JSON (Avro's generic form), for tools.
func DecodeJSON(reg Registry, value []byte) (eventType string, js json.RawMessage, err error) {
	id, body, err := serde.ParseWire(value)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrNotWireFormat, err)
	}
	ws, err := newWriterSchemas(reg).get(uint32(id))
	if err != nil {
		return "", nil, err
	}
	var v any
	if err := avro.Unmarshal(ws.schema, body, &v); err != nil {
		return ws.fullName, nil, fmt.Errorf("schema id %d: %w: %w", id, ErrDecode, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ws.fullName, nil, fmt.Errorf("schema id %d to JSON: %w: %w", id, ErrDecode, err)
	}
	return ws.fullName, b, nil
}
