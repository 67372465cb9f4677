package relay

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// quarantineCommand is `strata relay quarantine list|skip`.
func quarantineCommand() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "quarantine",
		Short: "events Kafka refused for good (too large, invalid): list them, skip one",
		Long: `An event Kafka refuses for good (larger than message.max.bytes, an invalid
record) is quarantined: the relay holds at it, so that no later event of its
stream overtakes it, and the metric strata_messaging_relay_quarantined_events
(alert StrataRelayQuarantined) says so. Either raise the topic's
max.message.bytes (the relay retries and goes on by itself), or skip the event:
it is then never published, and the relay carries on after it.`,
	})
	cmd.AddCommand(quarantineList(), quarantineSkip())
	return cmd
}

func quarantineList() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list quarantined events (oldest first)",
		Args:  clikit.NoArgs,
	}
	dbURL := clikit.DatabaseURL(cmd)
	name := cmd.Flags().String("relay", "", "only this relay's (empty: every relay's)")
	out := clikit.Output(cmd, clikit.Table)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pool, err := clikit.Connect(cmd.Context(), *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		q, err := messaging.ListQuarantine(cmd.Context(), pool, *name)
		if err != nil {
			return clikit.Unavailable(err)
		}
		l := clikit.NewLister(cmd.OutOrStdout(), *out, "RELAY", "EVENT ID", "STREAM", "TYPE", "TOPIC", "BYTES", "ATTEMPTS", "SINCE", "STATE", "REASON")
		for _, e := range q {
			state := "held"
			if e.Skipped {
				state = "skipped " + e.SkippedAt.UTC().Format(time.RFC3339)
			}
			if err := l.Row(e, e.Relay, e.EventID, e.StreamID, e.EventType, e.Topic, e.Size, e.Attempts,
				e.QuarantinedAt.UTC().Format(time.RFC3339), state, e.Reason); err != nil {
				return err
			}
		}
		return l.Flush()
	}
	return cmd
}

func quarantineSkip() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "skip EVENT_ID...",
		Short: "skip quarantined events: the relay passes them without publishing them",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return clikit.Usagef("which event? give its id (strata relay quarantine list)")
			}
			return nil
		},
	}
	dbURL := clikit.DatabaseURL(cmd)
	name := cmd.Flags().String("relay", "default", "relay name")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, err := clikit.Connect(cmd.Context(), *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		for _, id := range args {
			err := messaging.SkipQuarantined(cmd.Context(), pool, *name, id)
			if errors.Is(err, messaging.ErrNotQuarantined) {
				return clikit.Exit(clikit.ExitFail, err)
			}
			if err != nil {
				return clikit.Unavailable(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "relay %s: event %s skipped; the relay passes it within its backoff (it will not be in Kafka)\n", *name, id)
		}
		return nil
	}
	return cmd
}
