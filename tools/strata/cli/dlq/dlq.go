// Package dlq is `strata dlq`: list, show and replay dead-lettered messages.
package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry/client"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata dlq list|show|replay`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "dlq",
		Short: "list, show and replay dead-lettered messages (<topic>.dlq)",
		Long: `TOPIC is a dead-letter topic (events.order.dlq) or the topic it belongs to
(events.order: ".dlq" is added), as an argument or with --topic. --since is an RFC 3339 time or a duration
back from now (2h); it selects by the dlq-last-failure header.

Common flags: --brokers (default $KAFKA_BROKERS), --registry (default
$SCHEMA_REGISTRY_URL), -X key=value librdkafka properties, --timeout.`,
	})
	cmd.AddCommand(listCommand(), showCommand(), replayCommand())
	return cmd
}

// common are the flags every dlq subcommand takes.
type common struct {
	topic    *string
	timeout  *time.Duration
	kafka    *clikit.Kafka
	registry *string
}

func commonFlags(cmd *cobra.Command) *common {
	return &common{
		topic:    cmd.Flags().String("topic", "", "the topic, as a flag (same as the TOPIC argument)"),
		timeout:  clikit.Timeout(cmd, 2*time.Minute),
		kafka:    clikit.KafkaFlags(cmd),
		registry: clikit.Registry(cmd),
	}
}

// setup checks the flags and returns the Kafka settings, the dead-letter
// topic and a context bounded by --timeout.
func (c *common) setup(ctx context.Context, args []string) (messaging.KafkaConfig, string, context.Context, context.CancelFunc, error) {
	switch {
	case len(args) > 1:
		return nil, "", nil, nil, clikit.Usagef("unexpected arguments %q", strings.Join(args[1:], " "))
	case len(args) == 1 && *c.topic != "":
		return nil, "", nil, nil, clikit.Usagef("give the topic as an argument or with --topic, not both")
	case len(args) == 1:
		*c.topic = args[0]
	case *c.topic == "":
		return nil, "", nil, nil, clikit.Usagef("which topic? give TOPIC (the dead-letter topic or the one it belongs to)")
	}
	kc, err := c.kafka.Config()
	if err != nil {
		return nil, "", nil, nil, err
	}
	topic := *c.topic
	if !strings.HasSuffix(topic, messaging.DLQSuffix) {
		topic += messaging.DLQSuffix
	}
	ctx, cancel := context.WithTimeout(ctx, *c.timeout)
	return kc, topic, ctx, cancel, nil
}

// filterFlags adds --key and --since.
func filterFlags(cmd *cobra.Command) func() (messaging.DLQFilter, error) {
	key := cmd.Flags().String("key", "", "only messages with this key")
	since := cmd.Flags().String("since", "", "only messages whose last failure is at or after this time (RFC 3339) or this long ago (duration)")
	return func() (messaging.DLQFilter, error) {
		filter := messaging.DLQFilter{Key: *key}
		if *since != "" {
			t, err := parseSince(*since, time.Now())
			if err != nil {
				return filter, clikit.Usagef("--since: %v", err)
			}
			filter.Since = t
		}
		return filter, nil
	}
}

func listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list TOPIC",
		Short: "the dead letters with their failure (no payload); -o table for columns",
		Args:  cobra.ArbitraryArgs,
	}
	c := commonFlags(cmd)
	filterOf := filterFlags(cmd)
	limit := cmd.Flags().Int("limit", 0, "list at most this many (0: all)")
	output := clikit.Output(cmd, clikit.JSON)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		filter, err := filterOf()
		if err != nil {
			return err
		}
		kc, topic, ctx, cancel, err := c.setup(cmd.Context(), args)
		if err != nil {
			return err
		}
		defer cancel()
		l := clikit.NewLister(cmd.OutOrStdout(), *output, "PARTITION", "OFFSET", "KEY", "EVENT TYPE", "KIND", "ATTEMPTS", "LAST FAILURE", "GROUP", "ERROR")
		defer l.Flush()
		n := 0
		errStop := errors.New("limit")
		err = messaging.ReadDLQ(ctx, kc, topic, filter, func(d messaging.DeadLetter) error {
			if err := l.Row(summary(d), d.Partition, d.Offset, d.Key, d.EventType, d.Kind, d.Attempts,
				d.LastFailure.UTC().Format(time.RFC3339), d.ConsumerGroup, oneLine(d.Error)); err != nil {
				return err
			}
			n++
			if *limit > 0 && n >= *limit {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		return nil
	}
	return cmd
}

func showCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show TOPIC",
		Short: "one message with its headers and its payload decoded through the schema registry",
		Args:  cobra.ArbitraryArgs,
	}
	c := commonFlags(cmd)
	partition := cmd.Flags().Int("partition", -1, "partition")
	offset := cmd.Flags().Int64("offset", -1, "offset")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *partition < 0 || *offset < 0 {
			return clikit.Usagef("--partition and --offset are required")
		}
		kc, topic, ctx, cancel, err := c.setup(cmd.Context(), args)
		if err != nil {
			return err
		}
		defer cancel()
		enc := json.NewEncoder(cmd.OutOrStdout())
		found := false
		errStop := errors.New("found")
		err = messaging.ReadDLQ(ctx, kc, topic, messaging.DLQFilter{}, func(d messaging.DeadLetter) error {
			if d.Partition != int32(*partition) || d.Offset != *offset {
				return nil
			}
			found = true
			out := detail(d)
			if *c.registry != "" {
				reg, err := client.ForURL(*c.registry)
				if err != nil {
					return err
				}
				typ, js, err := messaging.DecodeJSON(reg, d.Value)
				if err != nil {
					out["payload_error"] = err.Error()
				} else {
					out["event_type"], out["payload"] = typ, js
				}
			}
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return err
			}
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return err
		}
		if !found {
			return fmt.Errorf("no message at %s[%d]@%d", topic, *partition, *offset)
		}
		return nil
	}
	return cmd
}

func replayCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay TOPIC",
		Short: "re-produce dead letters to their original topics",
		Long: `Re-produces the selected messages to their original topics (key, value and
original headers kept, dlq-* headers dropped, dlq-replayed-from added) and then
commits the replay group's position on the dead-letter topic (group
"strata-dlq-replay" unless --group), so running it again replays only newer
dead letters. Messages the filter rejects are passed over for that group as
well; they stay in the topic (list shows them) and another --group can replay
them. Positions are committed only after every delivery is confirmed.`,
		Args: cobra.ArbitraryArgs,
	}
	c := commonFlags(cmd)
	filterOf := filterFlags(cmd)
	group := cmd.Flags().String("group", "strata-dlq-replay", "consumer group recording the replay position")
	dry := cmd.Flags().Bool("dry-run", false, "print what would be replayed, change nothing")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		filter, err := filterOf()
		if err != nil {
			return err
		}
		kc, topic, ctx, cancel, err := c.setup(cmd.Context(), args)
		if err != nil {
			return err
		}
		defer cancel()
		enc := json.NewEncoder(cmd.OutOrStdout())
		res, err := messaging.ReplayDLQ(ctx, messaging.ReplayConfig{
			Kafka: kc, Topic: topic, Group: *group, Filter: filter, DryRun: *dry,
		}, func(d messaging.DeadLetter) {
			s := summary(d)
			s["action"] = "replay"
			if *dry {
				s["action"] = "would replay"
			}
			_ = enc.Encode(s)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "strata dlq replay: %d replayed, %d passed over (group %s, dry run %v)\n", res.Replayed, res.Skipped, *group, *dry)
		return nil
	}
	return cmd
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

func summary(d messaging.DeadLetter) map[string]any {
	return map[string]any{
		"topic": d.Topic, "partition": d.Partition, "offset": d.Offset, "key": d.Key,
		"event_id": d.EventID, "event_type": d.EventType,
		"kind": d.Kind, "error": d.Error, "attempts": d.Attempts, "consumer_group": d.ConsumerGroup,
		"original":      map[string]any{"topic": d.OriginalTopic, "partition": d.OriginalPartition, "offset": d.OriginalOffset},
		"first_failure": d.FirstFailure, "last_failure": d.LastFailure,
	}
}

func detail(d messaging.DeadLetter) map[string]any {
	out := summary(d)
	hs := map[string]string{}
	for _, h := range d.Headers {
		hs[h.Key] = string(h.Value)
	}
	out["headers"] = hs
	out["value_bytes"] = len(d.Value)
	return out
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
