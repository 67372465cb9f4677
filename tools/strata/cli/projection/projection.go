// Package projection is `strata projection status|rebuild`.
package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	projector "github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	"github.com/stratahq/strata/upcasters"
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
		Long: `Per projection: global position applied, lag (events in the store beyond it),
events applied, streams tracked, failed attempts and the last error.`,
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
		runner := projection.NewRunner(pool, projector.Projections()...)
		sts, err := runner.Status(ctx)
		if err != nil {
			return err
		}
		l := clikit.NewLister(cmd.OutOrStdout(), *output, "PROJECTION", "POSITION", "LAG", "APPLIED", "STREAMS", "FAILURES", "LAST EVENT", "REBUILT", "LAST ERROR")
		for _, s := range sts {
			_ = l.Row(toJSON(s), s.Name, s.Position, s.Lag, s.Applied, s.Streams, s.Failures, when(s.LastEventAt), when(s.RebuiltAt), s.LastError)
		}
		return l.Flush()
	}
	return cmd
}

func rebuildCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rebuild NAME",
		Short: "replay a projection's events into shadow tables and swap them in",
		Long: `Replays every event of the projection's types from the event store (decoded
with the writer schema and upcast) into shadow tables, printing progress, then
swaps them in with one transaction (renames): readers see the old tables until
the commit and the complete new ones after it. The projector may keep running
meanwhile. Projections: order_summaries, daily_sales.`,
		Args: clikit.ExactArgs(1, "name the projection"),
	}
	dbURL := clikit.DatabaseURL(cmd)
	timeout := clikit.Timeout(cmd, 30*time.Minute)
	batch := cmd.Flags().Int("batch", 500, "events per read and per transaction")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name := args[0]
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		pool, err := clikit.Connect(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		runner := projection.NewRunner(pool, projector.Projections()...)
		if _, err := runner.Projection(name); err != nil {
			return &clikit.UsageError{Err: err}
		}
		if _, err := eventstore.Migrate(ctx, pool); err != nil {
			return err
		}
		store, err := eventstore.New(pool, eventstore.Config{})
		if err != nil {
			return err
		}
		types, err := serde.NewRegistry(events.Types()...)
		if err != nil {
			return err
		}
		up, err := upcasters.New(types, upcasters.Chains()...)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		last := time.Time{}
		prog, err := runner.Rebuild(ctx, store, up, name, projection.RebuildOptions{BatchSize: *batch, Progress: func(p projection.Progress) {
			if p.Phase == "replay" && time.Since(last) < 500*time.Millisecond && p.Done < p.Total {
				return
			}
			last = time.Now()
			pct := 100.0
			if p.Total > 0 {
				pct = 100 * float64(p.Done) / float64(p.Total)
			}
			fmt.Fprintf(out, "%s: %-8s %d/%d events (%.0f%%), position %d, %s\n", p.Projection, p.Phase, p.Done, p.Total, pct, p.Position, p.Elapsed.Round(time.Millisecond))
		}})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "rebuilt %s from %d events (%d applied) in %s; swapped in atomically\n", name, prog.Done, prog.Applied, prog.Elapsed.Round(time.Millisecond))
		return nil
	}
	return cmd
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
	Lag         int64      `json:"lag"`
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
	return statusJSON{Name: s.Name, Position: s.Position, Lag: s.Lag, Applied: s.Applied, Streams: s.Streams,
		Failures: s.Failures, LastError: s.LastError, LastErrorAt: opt(s.LastErrorAt), LastEventAt: opt(s.LastEventAt), RebuiltAt: opt(s.RebuiltAt)}
}
