// Package generate is `strata generate`: Go code from the project's schemas,
// as strata.yaml describes them (package codegen does the work).
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
		Long: `Reads strata.yaml (found from the working folder upwards, or --project) and
writes the generated code it names: Go types for every Avro schema, the event
type registry, the gRPC code (buf) and sqlc queries. Output is deterministic.`,
		Args: clikit.NoArgs,
	}
	file := cmd.Flags().String("project", "", "project file (default: strata.yaml in this folder or the nearest parent)")
	tools := cmd.Flags().String("tools-modfile", os.Getenv("STRATA_TOOLS_MODFILE"),
		"go.mod pinning buf and sqlc as tools, run with `go tool -modfile` (default $STRATA_TOOLS_MODFILE; else buf and sqlc from PATH)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := Load(*file)
		if err != nil {
			return clikit.Exit(clikit.ExitUsage, err)
		}
		return codegen.Generate(cmd.Context(), p, codegen.Options{ToolsModfile: *tools, Log: cmd.ErrOrStderr()})
	}
	return cmd
}

// Load loads file, or the project file found from the working folder when
// file is "".
func Load(file string) (*project.Project, error) {
	if file == "" {
		found, err := project.Find(".")
		if err != nil {
			return nil, err
		}
		file = found
	}
	return project.Load(file)
}
