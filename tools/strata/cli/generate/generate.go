// Package generate is `strata generate`: the project's generated Go code
// from its schemas, as its strata.yaml names them (package codegen).
package generate

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/codegen"
	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata generate [--project strata.yaml] [--tools-modfile F]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "generate Go code from the project's schemas (strata.yaml): Avro types, type registry, buf, sqlc",
		Long: `Reads strata.yaml (here or in the nearest parent folder) and writes the
generated code: Go types of the Avro schemas (<out>/avro/<domain>), the type
registry (<out>/events), buf's output when the project has protos, sqlc's
when it names a sqlc configuration; then gofmt and a compile check of <out>.
Deterministic: running it twice changes nothing.

buf and sqlc run from PATH, or with --tools-modfile as the versions pinned by
that go.mod's tool directives (go tool -modfile=F NAME).`,
		Args: clikit.NoArgs,
	}
	file := cmd.Flags().String("project", "", "project file (default: strata.yaml in this folder or the nearest parent)")
	tools := cmd.Flags().String("tools-modfile", os.Getenv("STRATA_TOOLS_MODFILE"), "go.mod pinning buf and sqlc as tools (env STRATA_TOOLS_MODFILE)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := project.Open(*file)
		if err != nil {
			return clikit.Exit(clikit.ExitUsage, err)
		}
		return codegen.Generate(cmd.Context(), p, codegen.Options{ToolsModfile: *tools, Log: cmd.ErrOrStderr()})
	}
	return cmd
}
