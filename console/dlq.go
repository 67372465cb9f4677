package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/stratahq/strata/messaging"
)

func (s *Server) routeDLQ() {
	s.mux.HandleFunc("GET /dlq", s.dlqPage)
	s.mux.HandleFunc("POST /dlq/replay", s.dlqReplay)
}

// ReplayGroup is the group that records "replay all" from the console; the
// same as `strata dlq replay`, so neither replays what the other did.
const ReplayGroup = "strata-dlq-replay"

// DeadLetter is a dead letter with its payload decoded for display.
type DeadLetter struct {
	messaging.DeadLetter
	PayloadType  string
	Payload      json.RawMessage
	PayloadError string
	Headers      map[string]string
}

// DLQTopics lists the dead-letter topics (with the configured prefix) and
// their sizes.
func (s *Server) DLQTopics(ctx context.Context) ([]TopicSize, error) {
	if s.cfg.Kafka == nil {
		return nil, errNoKafka
	}
	cm := kafka.ConfigMap{}
	for k, v := range s.cfg.Kafka {
		cm[k] = v
	}
	admin, err := kafka.NewAdminClient(&cm)
	if err != nil {
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	md, err := admin.GetMetadata(nil, true, 10000)
	if err != nil {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	lo, hi := map[kafka.TopicPartition]kafka.OffsetSpec{}, map[kafka.TopicPartition]kafka.OffsetSpec{}
	for name, t := range md.Topics {
		if !strings.HasSuffix(name, messaging.DLQSuffix) || !strings.HasPrefix(name, s.cfg.TopicPrefix) {
			continue
		}
		for _, p := range t.Partitions {
			topic := name
			tp := kafka.TopicPartition{Topic: &topic, Partition: p.ID}
			lo[tp], hi[tp] = kafka.EarliestOffsetSpec, kafka.LatestOffsetSpec
		}
	}
	sizes := map[string]int64{}
	for _, req := range []struct {
		specs map[kafka.TopicPartition]kafka.OffsetSpec
		sign  int64
	}{{hi, 1}, {lo, -1}} {
		if len(req.specs) == 0 {
			break
		}
		res, err := admin.ListOffsets(ctx, req.specs)
		if err != nil {
			return nil, fmt.Errorf("list offsets: %w", err)
		}
		for tp, info := range res.ResultInfos {
			if info.Error.Code() != kafka.ErrNoError {
				return nil, fmt.Errorf("offset of %s[%d]: %w", *tp.Topic, tp.Partition, info.Error)
			}
			sizes[*tp.Topic] += req.sign * int64(info.Offset)
		}
	}
	var out []TopicSize
	for name, n := range sizes {
		out = append(out, TopicSize{Topic: name, Messages: n})
	}
	slices.SortFunc(out, func(a, b TopicSize) int { return strings.Compare(a.Topic, b.Topic) })
	return out, nil
}

// TopicSize is a topic and how many messages it holds.
type TopicSize struct {
	Topic    string
	Messages int64
}

var errNoKafka = errors.New("Kafka is not configured (--brokers or KAFKA_BROKERS)")

// DeadLetters reads up to limit messages of a dead-letter topic, decoding each
// payload through the schema registry.
func (s *Server) DeadLetters(ctx context.Context, topic string, f messaging.DLQFilter, limit int) ([]DeadLetter, error) {
	if s.cfg.Kafka == nil {
		return nil, errNoKafka
	}
	var out []DeadLetter
	stop := errors.New("limit")
	err := messaging.ReadDLQ(ctx, s.cfg.Kafka, topic, f, func(d messaging.DeadLetter) error {
		dl := DeadLetter{DeadLetter: d, Headers: map[string]string{}}
		for _, h := range d.Headers {
			dl.Headers[h.Key] = string(h.Value)
		}
		if s.cfg.Registry != nil {
			typ, js, err := messaging.DecodeJSON(s.cfg.Registry, d.Value)
			dl.PayloadType, dl.Payload = typ, js
			if err != nil {
				dl.PayloadError = err.Error()
			}
		}
		out = append(out, dl)
		if len(out) >= limit {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return out, err
	}
	return out, nil
}

func (s *Server) dlqPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	q := r.URL.Query()
	data := map[string]any{"Title": "dead letters", "Topic": q.Get("topic"), "Key": q.Get("key"), "Flash": q.Get("flash")}
	topics, err := s.DLQTopics(ctx)
	data["Topics"] = topics
	if err != nil {
		data["Error"] = err.Error()
	}
	if topic := q.Get("topic"); topic != "" && err == nil {
		msgs, err := s.DeadLetters(ctx, topic, messaging.DLQFilter{Key: q.Get("key")}, 200)
		data["Messages"] = msgs
		if err != nil {
			data["Error"] = err.Error()
		}
	}
	s.render(w, r, "dlq", data)
}

// dlqReplay re-produces the selected messages (or every one with all=1) to
// their original topics with messaging.ReplayDLQ. A single message is
// replayed under a group named after its place, so replaying it twice
// re-produces it once.
func (s *Server) dlqReplay(w http.ResponseWriter, r *http.Request) {
	if !s.writeGuard(w) {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	topic := r.PostFormValue("topic")
	if !strings.HasSuffix(topic, messaging.DLQSuffix) {
		http.Error(w, "topic: not a dead-letter topic", http.StatusBadRequest)
		return
	}
	cfg := messaging.ReplayConfig{Kafka: s.cfg.Kafka, Topic: topic, Group: ReplayGroup}
	if r.PostFormValue("all") == "" {
		for _, v := range r.PostForm["msg"] {
			p, o, ok := strings.Cut(v, "@")
			pi, err1 := strconv.ParseInt(p, 10, 32)
			oi, err2 := strconv.ParseInt(o, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				http.Error(w, "msg: want PARTITION@OFFSET", http.StatusBadRequest)
				return
			}
			cfg.Filter.At = append(cfg.Filter.At, messaging.DLQPosition{Partition: int32(pi), Offset: oi})
		}
		if len(cfg.Filter.At) == 0 {
			http.Redirect(w, r, "/dlq?topic="+topic+"&flash="+urlq("Select at least one message to replay."), http.StatusSeeOther)
			return
		}
		var ids []string
		for _, a := range cfg.Filter.At {
			ids = append(ids, fmt.Sprintf("%d.%d", a.Partition, a.Offset))
		}
		cfg.Group = "strata-console-replay." + topic + "." + strings.Join(ids, "_")
		if len(cfg.Group) > 200 {
			cfg.Group = fmt.Sprintf("strata-console-replay.%s.%d", topic, s.cfg.Now().UnixNano())
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	res, err := messaging.ReplayDLQ(ctx, cfg, func(messaging.DeadLetter) {})
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		s.render(w, r, "dlq", map[string]any{"Title": "dead letters", "Topic": topic, "Error": "replay: " + err.Error()})
		return
	}
	s.cfg.Logger.Info("console: dlq replay", "topic", topic, "group", cfg.Group, "replayed", res.Replayed)
	msg := fmt.Sprintf("Replayed %d message(s) to their original topics (group %s).", res.Replayed, cfg.Group)
	if res.Replayed == 0 {
		msg = "Nothing replayed: the selection was already replayed."
	}
	http.Redirect(w, r, "/dlq?topic="+topic+"&flash="+urlq(msg), http.StatusSeeOther)
}
