package registry

import (
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// The registry commands still parse their own flags (owner: helper "reg"
// converts them to cobra subcommands); these names keep that code as it was.
type IO = clikit.IO

const (
	ExitOK    = clikit.ExitOK
	ExitUsage = clikit.ExitUsage
)

// Command is `strata registry serve`, dispatched by runRegistry.
func Command() *cobra.Command {
	return clikit.Legacy("registry", registrySummary, runRegistry)
}
