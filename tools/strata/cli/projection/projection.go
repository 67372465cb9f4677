// Package projection is `strata projection status|rebuild`.
package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata projection status|rebuild`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "projection",
		Short: "rebuild a read model from the event store, or show projection status",
	})
	cmd.AddCommand(statusCommand(), rebuildCommand())
	return cmd
}

func statusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "per projection: position, lag, events applied, streams, failures, last error",
		Long: `Per projection that has run against the database (the projector records
each one's name and event types in read.projection_status): the global
position applied, lag (events of its types in the store beyond it; "-" when
its types are not recorded), events applied, streams tracked, failed attempts
and the last error.`,
		Args: clikit.NoArgs,
	}
	dbURL := clikit.DatabaseURL(cmd)
	timeout := clikit.Timeout(cmd, 30*time.Second)
	output := clikit.Output(cmd, clikit.Table)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		pool, err := clikit.Connect(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		sts, err := projection.StatusAll(ctx, pool)
		if err != nil {
			return err
		}
		l := clikit.NewLister(cmd.OutOrStdout(), *output, "PROJECTION", "POSITION", "LAG", "APPLIED", "STREAMS", "FAILURES", "LAST EVENT", "REBUILT", "LAST ERROR")
		for _, s := range sts {
			_ = l.Row(toJSON(s), s.Name, s.Position, lag(s.Lag), s.Applied, s.Streams, s.Failures, when(s.LastEventAt), when(s.RebuiltAt), s.LastError)
		}
		return l.Flush()
	}
	return cmd
}

// rebuildHelp says where rebuilds run: the strata CLI has no projection code.
const rebuildHelp = `A rebuild replays the event store through the projection's Go code, which
lives in your projector binary, not in strata. Run your projector's rebuild
subcommand, which projection.RebuildMain provides in one call from main:

    projector rebuild NAME [--database-url URL] [--batch N]

(the example shop: go run ./services/projector rebuild order_summaries).
strata projection status shows every projection's position and lag.`

func rebuildCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild NAME",
		Short: "explains how to rebuild: with your projector binary's rebuild subcommand",
		Long:  rebuildHelp,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return clikit.Usagef("strata cannot rebuild a projection itself.\n\n%s", rebuildHelp)
		},
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
	}
}

func lag(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// statusJSON is a projection's status under -o json.
type statusJSON struct {
	Name        string     `json:"projection"`
	Position    int64      `json:"position"`
	Lag         *int64     `json:"lag"` // null: unknown
	Applied     int64      `json:"applied"`
	Streams     int64      `json:"streams"`
	Failures    int64      `json:"failures"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	LastEventAt *time.Time `json:"last_event_at,omitempty"`
	RebuiltAt   *time.Time `json:"rebuilt_at,omitempty"`
}

func toJSON(s projection.Status) statusJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	var lag *int64
	if s.Lag >= 0 {
		lag = &s.Lag
	}
	return statusJSON{Name: s.Name, Position: s.Position, Lag: lag, Applied: s.Applied, Streams: s.Streams,
		Failures: s.Failures, LastError: s.LastError, LastErrorAt: opt(s.LastErrorAt), LastEventAt: opt(s.LastEventAt), RebuiltAt: opt(s.RebuiltAt)}
}
