package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/registry/client"
)

const dlqSummary = "list, show and replay dead-lettered messages (<topic>.dlq)"

// runDLQ is `strata dlq list|show|replay`.
func runDLQ(ctx context.Context, stdio IO, args []string) int {
	usage := func() {
		fmt.Fprint(stdio.Err, `usage: strata dlq list   --topic T [--key K] [--since T] [--limit N]
       strata dlq show   --topic T --partition P --offset O
       strata dlq replay --topic T [--group G] [--key K] [--since T] [--dry-run]

T is a dead-letter topic (events.order.dlq) or the topic it belongs to
(events.order: ".dlq" is added). --since is an RFC 3339 time or a duration
back from now (2h); it selects by the dlq-last-failure header.

list prints one JSON object per line (no payload); show prints one message
with its headers and its payload decoded through the schema registry as JSON.

replay re-produces the selected messages to their original topics (key, value
and original headers kept, dlq-* headers dropped, dlq-replayed-from added) and
then commits the replay group's position on the dead-letter topic (group
"strata-dlq-replay" unless --group), so running it again replays only newer
dead letters. Messages the filter rejects are passed over for that group as
well; they stay in the topic (list shows them) and another --group can replay
them. Positions are committed only after every delivery is confirmed.
Common flags: --brokers (default $KAFKA_BROKERS), --registry (default
$SCHEMA_REGISTRY_URL), -X key=value librdkafka properties, --timeout.
`)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	verb := args[0]
	fs := flag.NewFlagSet("strata dlq "+verb, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = usage
	topic := fs.String("topic", "", "dead-letter topic (or its original topic)")
	key := fs.String("key", "", "only messages with this key")
	since := fs.String("since", "", "only messages whose last failure is at or after this time (RFC 3339) or this long ago (duration)")
	limit := fs.Int("limit", 0, "list at most this many (0: all)")
	partition := fs.Int("partition", -1, "show: partition")
	offset := fs.Int64("offset", -1, "show: offset")
	group := fs.String("group", "strata-dlq-replay", "replay: consumer group recording the replay position")
	dry := fs.Bool("dry-run", false, "replay: print what would be replayed, change nothing")
	regURL := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry URL")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	props, brokers, err := kafkaFlags(fs)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata dlq: %v\n", err)
		return ExitUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if *topic == "" || *brokers == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "strata dlq: --topic and --brokers (or KAFKA_BROKERS) are required")
		return ExitUsage
	}
	if !strings.HasSuffix(*topic, messaging.DLQSuffix) {
		*topic += messaging.DLQSuffix
	}
	props.cfg["bootstrap.servers"] = *brokers
	filter := messaging.DLQFilter{Key: *key}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(stdio.Err, "strata dlq: --since: %v\n", err)
			return ExitUsage
		}
		filter.Since = t
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	enc := json.NewEncoder(stdio.Out)

	switch verb {
	case "list":
		n := 0
		errStop := errors.New("limit")
		err := messaging.ReadDLQ(ctx, props.cfg, *topic, filter, func(d messaging.DeadLetter) error {
			if err := enc.Encode(summary(d)); err != nil {
				return err
			}
			n++
			if *limit > 0 && n >= *limit {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			fmt.Fprintf(stdio.Err, "strata dlq list: %v\n", err)
			return ExitFail
		}
		return ExitOK
	case "show":
		if *partition < 0 || *offset < 0 {
			fmt.Fprintln(stdio.Err, "strata dlq show: --partition and --offset are required")
			return ExitUsage
		}
		found := false
		errStop := errors.New("found")
		err := messaging.ReadDLQ(ctx, props.cfg, *topic, messaging.DLQFilter{}, func(d messaging.DeadLetter) error {
			if d.Partition != int32(*partition) || d.Offset != *offset {
				return nil
			}
			found = true
			out := detail(d)
			if *regURL != "" {
				reg, err := client.ForURL(*regURL)
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
			fmt.Fprintf(stdio.Err, "strata dlq show: %v\n", err)
			return ExitFail
		}
		if !found {
			fmt.Fprintf(stdio.Err, "strata dlq show: no message at %s[%d]@%d\n", *topic, *partition, *offset)
			return ExitFail
		}
		return ExitOK
	case "replay":
		res, err := messaging.ReplayDLQ(ctx, messaging.ReplayConfig{
			Kafka: props.cfg, Topic: *topic, Group: *group, Filter: filter, DryRun: *dry,
		}, func(d messaging.DeadLetter) {
			s := summary(d)
			s["action"] = "replay"
			if *dry {
				s["action"] = "would replay"
			}
			_ = enc.Encode(s)
		})
		if err != nil {
			fmt.Fprintf(stdio.Err, "strata dlq replay: %v\n", err)
			return ExitFail
		}
		fmt.Fprintf(stdio.Err, "strata dlq replay: %d replayed, %d passed over (group %s, dry run %v)\n", res.Replayed, res.Skipped, *group, *dry)
		return ExitOK
	default:
		fmt.Fprintf(stdio.Err, "strata dlq: unknown verb %q\n", verb)
		usage()
		return ExitUsage
	}
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
