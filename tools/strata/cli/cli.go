// Package cli implements the strata command line. Run is the whole program, so
// tests drive it in-process exactly as a user would from a shell.
//
// Each area of commands is a package of its own under this folder exporting
// Command() *cobra.Command; what they share (exit codes, output formats,
// connection flags) is in clikit.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/tools/strata/cli/archive"
	"github.com/stratahq/strata/tools/strata/cli/backup"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	"github.com/stratahq/strata/tools/strata/cli/console"
	"github.com/stratahq/strata/tools/strata/cli/consumers"
	"github.com/stratahq/strata/tools/strata/cli/dev"
	"github.com/stratahq/strata/tools/strata/cli/dlq"
	"github.com/stratahq/strata/tools/strata/cli/events"
	"github.com/stratahq/strata/tools/strata/cli/generate"
	"github.com/stratahq/strata/tools/strata/cli/initcmd"
	"github.com/stratahq/strata/tools/strata/cli/migrate"
	"github.com/stratahq/strata/tools/strata/cli/projection"
	"github.com/stratahq/strata/tools/strata/cli/registry"
	"github.com/stratahq/strata/tools/strata/cli/relay"
	"github.com/stratahq/strata/tools/strata/cli/restore"
	"github.com/stratahq/strata/tools/strata/cli/saga"
	"github.com/stratahq/strata/tools/strata/cli/schema"
	"github.com/stratahq/strata/tools/strata/cli/version"
)

// Exit codes shared by every command (see clikit).
const (
	ExitOK    = clikit.ExitOK    // success
	ExitFail  = clikit.ExitFail  // the command ran and found a problem (incompatible schema, lag over limit, ...)
	ExitUsage = clikit.ExitUsage // unreadable input, bad flags or an unreachable dependency
)

// Command returns the root command with every area registered.
func Command() *cobra.Command {
	root := clikit.Group(&cobra.Command{
		Use:   "strata",
		Short: "Strata's command-line tool: schemas, registry, event store and messaging operations",
		Long: `strata is Strata's command-line tool: the schema workflow (lint, compatibility
gate, register, catalog), the schema registry server and operations
(migrations, relay, DLQ, projections, sagas, lag, archive, backup), and a
new service module with its local stack (init, dev).

Exit codes: 0 ok, 1 the command found a problem, 2 usage error, unreadable
input or an unreachable dependency.`,
	})
	root.AddCommand(
		archive.Command(),
		backup.Command(),
		console.Command(),
		consumers.Command(),
		dev.Command(),
		dlq.Command(),
		events.Command(),
		generate.Command(),
		initcmd.Command(),
		migrate.Command(),
		projection.Command(),
		registry.Command(),
		relay.Command(),
		restore.Command(),
		saga.Command(),
		schema.Command(),
		version.Command(),
	)
	return root
}

// Run executes the strata command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return clikit.Execute(ctx, Command(), args, stdin, stdout, stderr)
}
