package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
)

const migrateSummary = "apply the event store's migrations to DATABASE_URL (idempotent)"

// runMigrate is `strata migrate [--database-url URL] [--timeout D] [--list]`.
func runMigrate(ctx context.Context, stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata migrate", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprint(stdio.Err, `usage: strata migrate [--database-url URL] [--timeout DURATION] [--list]

Applies the event store's embedded migrations (eventstore/migrations) that the
database has not seen yet, each in its own transaction, under an advisory lock,
so concurrent runs (services start-up, CI) are safe. Running it again is a no-op.
  --database-url  default $DATABASE_URL
  --list          print the embedded migrations and exit
`)
	}
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	list := fs.Bool("list", false, "list the embedded migrations")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "strata migrate: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	if *list {
		ms, err := eventstore.Migrations()
		if err != nil {
			fmt.Fprintf(stdio.Err, "strata migrate: %v\n", err)
			return ExitFail
		}
		for _, m := range ms {
			fmt.Fprintln(stdio.Out, m.Name)
		}
		return ExitOK
	}
	if *dbURL == "" {
		fmt.Fprintln(stdio.Err, "strata migrate: no database: set --database-url or DATABASE_URL")
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata migrate: %v\n", err)
		return ExitUsage
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "strata migrate: connect: %v\n", err)
		return ExitUsage
	}
	res, err := eventstore.Migrate(ctx, pool)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata migrate: %v\n", err)
		return ExitFail
	}
	for _, name := range res.Applied {
		fmt.Fprintf(stdio.Out, "applied %s\n", name)
	}
	fmt.Fprintf(stdio.Out, "event store schema at version %d (%d applied now)\n", res.Current, len(res.Applied))
	return ExitOK
}
