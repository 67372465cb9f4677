package schema

import (
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// The schema commands still parse their own flags (owner: helper "schema"
// converts them to cobra subcommands); these names keep that code as it was.
type IO = clikit.IO

const (
	ExitOK    = clikit.ExitOK
	ExitFail  = clikit.ExitFail
	ExitUsage = clikit.ExitUsage
)

// Command is `strata schema ...`, dispatched by runSchema.
func Command() *cobra.Command {
	return clikit.Legacy("schema", schemaSummary, runSchema)
}
