// Package migrate is `strata migrate`: the event store's migrations.
package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata migrate [--database-url URL] [--timeout D] [--list]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "apply the event store's migrations to DATABASE_URL (idempotent)",
		Long: `Applies the event store's embedded migrations (eventstore/migrations) that the
database has not seen yet, each in its own transaction, under an advisory lock,
so concurrent runs (services start-up, CI) are safe. Running it again is a no-op.
Prints "applied NAME" per migration applied and the schema version reached.`,
		Args: clikit.NoArgs,
	}
	dbURL := clikit.DatabaseURL(cmd)
	timeout := clikit.Timeout(cmd, 2*time.Minute)
	list := cmd.Flags().Bool("list", false, "print the embedded migrations and exit")
	output := clikit.Output(cmd, clikit.Table)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		out := cmd.OutOrStdout()
		if *list {
			ms, err := eventstore.Migrations()
			if err != nil {
				return err
			}
			l := clikit.NewLister(out, *output, "MIGRATION")
			for _, m := range ms {
				_ = l.Row(map[string]string{"name": m.Name}, m.Name)
			}
			return l.Flush()
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		pool, err := clikit.Connect(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		res, err := eventstore.Migrate(ctx, pool)
		if err != nil {
			return err
		}
		for _, name := range res.Applied {
			fmt.Fprintf(out, "applied %s\n", name)
		}
		fmt.Fprintf(out, "event store schema at version %d (%d applied now)\n", res.Current, len(res.Applied))
		return nil
	}
	return cmd
}
