package projection

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
)

// RebuildMain is a ready-made `rebuild` subcommand for the binary that owns
// the projections (the strata CLI cannot rebuild them: it has neither their
// Go code nor the event types they decode into). A projector's main calls it:
//
//	if len(os.Args) > 1 && os.Args[1] == "rebuild" {
//		os.Exit(projection.RebuildMain(ctx, os.Args[2:], os.Stdout, os.Stderr, decoder, projections...))
//	}
//
// args are `NAME [--database-url URL] [--batch N] [--timeout D]`
// (--database-url defaults to $DATABASE_URL). It runs [Runner.Rebuild],
// printing progress and a summary on stdout and errors on stderr, and returns
// the exit code: 0 rebuilt, 1 the rebuild failed, 2 a usage error or no
// database.
func RebuildMain(ctx context.Context, args []string, stdout, stderr io.Writer, dec Decoder, ps ...Projection) int {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name()
	}
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: rebuild NAME [--database-url URL] [--batch N] [--timeout D]

Replays every event of the projection's types from the event store (decoded
with the writer schema and upcast) into shadow tables, printing progress, then
swaps them in with one transaction (renames): readers see the old tables until
the commit and the complete new ones after it. The projector may keep running
meanwhile. Projections: %s.
`, strings.Join(names, ", "))
		fs.PrintDefaults()
	}
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "event store PostgreSQL URL (env DATABASE_URL)")
	batch := fs.Int("batch", 500, "events per read and per transaction")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "rebuild: name one projection (%s)\n", strings.Join(names, ", "))
		return 2
	}
	name := pos[0]
	if *dbURL == "" {
		fmt.Fprintln(stderr, "rebuild: no database: set --database-url or DATABASE_URL")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *dbURL)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rebuild: connect: %v\n", err)
		return 2
	}
	defer pool.Close()
	runner := NewRunner(pool, ps...)
	if _, err := runner.Projection(name); err != nil {
		fmt.Fprintf(stderr, "rebuild: %v (projections: %s)\n", err, strings.Join(names, ", "))
		return 2
	}
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		fmt.Fprintf(stderr, "rebuild: %v\n", err)
		return 1
	}
	store, err := eventstore.New(pool, eventstore.Config{NoNotify: true})
	if err != nil {
		fmt.Fprintf(stderr, "rebuild: %v\n", err)
		return 1
	}
	last := time.Time{}
	prog, err := runner.Rebuild(ctx, store, dec, name, RebuildOptions{BatchSize: *batch, Progress: func(p Progress) {
		if p.Phase == "replay" && time.Since(last) < 500*time.Millisecond && p.Done < p.Total {
			return
		}
		last = time.Now()
		pct := 100.0
		if p.Total > 0 {
			pct = 100 * float64(p.Done) / float64(p.Total)
		}
		fmt.Fprintf(stdout, "%s: %-8s %d/%d events (%.0f%%), position %d, %s\n", p.Projection, p.Phase, p.Done, p.Total, pct, p.Position, p.Elapsed.Round(time.Millisecond))
	}})
	if err != nil {
		fmt.Fprintf(stderr, "rebuild: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "rebuilt %s from %d events (%d applied) in %s; swapped in atomically\n", name, prog.Done, prog.Applied, prog.Elapsed.Round(time.Millisecond))
	return 0
}
