package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/serde"
	projector "github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/upcasters"
)

const projectionSummary = "rebuild a read model from the event store, or show projection status"

const projectionUsage = `usage: strata projection status [--database-url URL]
       strata projection rebuild NAME [--database-url URL] [--batch N]

status   per projection: global position applied, lag (events in the store
         beyond it), events applied, streams tracked, failed attempts and the last error.
rebuild  replays every event of the projection's types from the event store
         (decoded with the writer schema and upcast) into shadow tables, printing
         progress, then swaps them in with one transaction (renames): readers see
         the old tables until the commit and the complete new ones after it.
         The projector may keep running meanwhile.
Projections: order_summaries, daily_sales.
  --database-url  default $DATABASE_URL
`

// runProjection is `strata projection status|rebuild`.
func runProjection(ctx context.Context, stdio IO, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdio.Err, projectionUsage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	verb, rest := args[0], args[1:]
	var name string
	if verb == "rebuild" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			fmt.Fprint(stdio.Err, "strata projection rebuild: name the projection\n\n"+projectionUsage)
			return ExitUsage
		}
		name, rest = rest[0], rest[1:]
	} else if verb != "status" {
		fmt.Fprintf(stdio.Err, "strata projection: unknown subcommand %q\n\n%s", verb, projectionUsage)
		return ExitUsage
	}
	fs := flag.NewFlagSet("strata projection "+verb, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() { fmt.Fprint(stdio.Err, projectionUsage) }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL")
	batch := fs.Int("batch", 500, "events per read and per transaction (rebuild)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "strata projection %s: unexpected arguments %q\n", verb, fs.Args())
		return ExitUsage
	}
	if *dbURL == "" {
		fmt.Fprintf(stdio.Err, "strata projection %s: no database: set --database-url or DATABASE_URL\n", verb)
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *dbURL)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection %s: connect: %v\n", verb, err)
		return ExitUsage
	}
	defer pool.Close()
	runner := projection.NewRunner(pool, projector.Projections()...)
	if verb == "status" {
		return projectionStatus(ctx, stdio, runner)
	}
	if _, err := runner.Projection(name); err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitUsage
	}
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitFail
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitFail
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitFail
	}
	up, err := upcasters.New(types, upcasters.Chains()...)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitFail
	}
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
		fmt.Fprintf(stdio.Out, "%s: %-8s %d/%d events (%.0f%%), position %d, %s\n", p.Projection, p.Phase, p.Done, p.Total, pct, p.Position, p.Elapsed.Round(time.Millisecond))
	}})
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection rebuild: %v\n", err)
		return ExitFail
	}
	fmt.Fprintf(stdio.Out, "rebuilt %s from %d events (%d applied) in %s; swapped in atomically\n", name, prog.Done, prog.Applied, prog.Elapsed.Round(time.Millisecond))
	return ExitOK
}

func projectionStatus(ctx context.Context, stdio IO, runner *projection.Runner) int {
	sts, err := runner.Status(ctx)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata projection status: %v\n", err)
		return ExitFail
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECTION\tPOSITION\tLAG\tAPPLIED\tSTREAMS\tFAILURES\tLAST EVENT\tREBUILT\tLAST ERROR")
	for _, s := range sts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Name, s.Position, s.Lag, s.Applied, s.Streams, s.Failures,
			when(s.LastEventAt), when(s.RebuiltAt), s.LastError)
	}
	tw.Flush()
	return ExitOK
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
