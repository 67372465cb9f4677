// Package consumers is `strata consumers lag`: consumer group lag from Kafka
// offsets and dead-letter topic sizes.
package consumers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// LagRow is one group's position on one partition.
type LagRow struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	High      int64  `json:"high_watermark"`
	Lag       int64  `json:"lag"`
}

// DLQRow is one dead-letter topic partition's size.
type DLQRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Messages  int64  `json:"messages"`
}

// Command is `strata consumers lag`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "consumers",
		Short: "consumer group lag from Kafka offsets (committed vs high watermark) and DLQ sizes",
	})
	cmd.AddCommand(lagCommand())
	return cmd
}

func lagCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lag",
		Short: "committed offset, high watermark and lag per group and partition; DLQ sizes",
		Long: `For every consumer group (or the --group ones) and every partition it has
committed an offset for: the committed offset, the partition's high watermark
and the lag between them. Dead-letter topics (*.dlq) are listed with their
size (high - low watermark). With --max-lag, exits 1 when any partition lags
more than N messages (a check for scripts and CI).`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	groupList := f.String("group", "", "only these consumer groups (comma-separated)")
	prefix := f.String("topic-prefix", "", "only topics with this prefix")
	maxLag := f.Int64("max-lag", -1, "exit 1 when a partition lags more than this (-1: never)")
	output := clikit.OutputOrJSON(cmd, clikit.Table)
	timeout := clikit.Timeout(cmd, 15*time.Second)
	kafkaFlags := clikit.KafkaFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		kc, err := kafkaFlags.Config()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		rows, dlqs, err := ConsumerLag(ctx, kc, clikit.SplitList(*groupList), *prefix)
		if err != nil {
			return clikit.Unavailable(err)
		}
		over := 0
		for _, r := range rows {
			if *maxLag >= 0 && r.Lag > *maxLag {
				over++
			}
		}
		out := cmd.OutOrStdout()
		if output() == clikit.JSON {
			_ = clikit.JSONLines(out, rows)
			_ = clikit.JSONLines(out, dlqs)
		} else {
			tw := clikit.NewTable(out)
			fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCOMMITTED\tHIGH WATERMARK\tLAG")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", r.Group, r.Topic, r.Partition, r.Committed, r.High, r.Lag)
			}
			if len(dlqs) > 0 {
				fmt.Fprintln(tw, "\nDLQ TOPIC\tPARTITION\tMESSAGES")
				for _, d := range dlqs {
					fmt.Fprintf(tw, "%s\t%d\t%d\n", d.Topic, d.Partition, d.Messages)
				}
			}
			tw.Flush()
		}
		if over > 0 {
			return clikit.Exit(clikit.ExitFail, fmt.Errorf("%d partition(s) lag more than %d", over, *maxLag))
		}
		return nil
	}
	return cmd
}

func configMap(kc messaging.KafkaConfig) *kafka.ConfigMap {
	cm := kafka.ConfigMap{}
	for k, v := range kc {
		cm[k] = v
	}
	return &cm
}

// ConsumerLag reads, for the groups (nil: every group), the committed offset
// of each partition and its high watermark; and the size of every *.dlq topic.
// Topics outside prefix are left out.
func ConsumerLag(ctx context.Context, kc messaging.KafkaConfig, groups []string, prefix string) ([]LagRow, []DLQRow, error) {
	admin, err := kafka.NewAdminClient(configMap(kc))
	if err != nil {
		return nil, nil, fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	if len(groups) == 0 {
		res, err := admin.ListConsumerGroups(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list consumer groups: %w", err)
		}
		for _, g := range res.Valid {
			groups = append(groups, g.GroupID)
		}
		slices.Sort(groups)
	}
	var rows []LagRow
	// Keyed by topic name and partition: kafka.TopicPartition holds the topic
	// as a pointer, so two groups on one topic would ask for it twice.
	latest := map[topicPart]kafka.OffsetSpec{}
	for _, g := range groups {
		res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: g}})
		if err != nil {
			return nil, nil, fmt.Errorf("offsets of group %s: %w", g, err)
		}
		for _, gp := range res.ConsumerGroupsTopicPartitions {
			for _, tp := range gp.Partitions {
				if tp.Topic == nil || !strings.HasPrefix(*tp.Topic, prefix) || tp.Offset < 0 {
					continue
				}
				rows = append(rows, LagRow{Group: g, Topic: *tp.Topic, Partition: tp.Partition, Committed: int64(tp.Offset)})
				latest[topicPart{*tp.Topic, tp.Partition}] = kafka.LatestOffsetSpec
			}
		}
	}
	md, err := admin.GetMetadata(nil, true, timeoutMs(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	var dlqTopics []string
	for name, t := range md.Topics {
		if !strings.HasSuffix(name, messaging.DLQSuffix) || !strings.HasPrefix(name, prefix) {
			continue
		}
		dlqTopics = append(dlqTopics, name)
		for _, p := range t.Partitions {
			latest[topicPart{name, p.ID}] = kafka.LatestOffsetSpec
		}
	}
	highs, err := offsets(ctx, admin, latest)
	if err != nil {
		return nil, nil, err
	}
	for i := range rows {
		r := &rows[i]
		r.High = highs[topicPart{r.Topic, r.Partition}]
		r.Lag = max(0, r.High-r.Committed)
	}
	slices.SortFunc(rows, func(a, b LagRow) int {
		return cmpAll(strings.Compare(a.Group, b.Group), strings.Compare(a.Topic, b.Topic), int(a.Partition-b.Partition))
	})
	var dlqs []DLQRow
	if len(dlqTopics) > 0 {
		earliest := map[topicPart]kafka.OffsetSpec{}
		for tp := range latest {
			if strings.HasSuffix(tp.topic, messaging.DLQSuffix) {
				earliest[tp] = kafka.EarliestOffsetSpec
			}
		}
		lows, err := offsets(ctx, admin, earliest)
		if err != nil {
			return nil, nil, err
		}
		for tp := range lows {
			dlqs = append(dlqs, DLQRow{Topic: tp.topic, Partition: tp.partition, Messages: highs[tp] - lows[tp]})
		}
		slices.SortFunc(dlqs, func(a, b DLQRow) int {
			return cmpAll(strings.Compare(a.Topic, b.Topic), int(a.Partition-b.Partition))
		})
	}
	return rows, dlqs, nil
}

type topicPart struct {
	topic     string
	partition int32
}

func offsets(ctx context.Context, admin *kafka.AdminClient, want map[topicPart]kafka.OffsetSpec) (map[topicPart]int64, error) {
	out := map[topicPart]int64{}
	if len(want) == 0 {
		return out, nil
	}
	req := make(map[kafka.TopicPartition]kafka.OffsetSpec, len(want))
	for tp, spec := range want {
		topic := tp.topic
		req[kafka.TopicPartition{Topic: &topic, Partition: tp.partition}] = spec
	}
	res, err := admin.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	for tp, info := range res.ResultInfos {
		if info.Error.Code() != kafka.ErrNoError {
			return nil, fmt.Errorf("offset of %s[%d]: %w", *tp.Topic, tp.Partition, info.Error)
		}
		out[topicPart{*tp.Topic, tp.Partition}] = int64(info.Offset)
	}
	return out, nil
}

func timeoutMs(ctx context.Context) int {
	if dl, ok := ctx.Deadline(); ok {
		return int(max(time.Until(dl), time.Second) / time.Millisecond)
	}
	return 10_000
}

func cmpAll(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}
