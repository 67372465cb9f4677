// Package version is `strata version`: the CLI's version, commit and Go
// version.
package version

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata version [-o table|json]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the CLI's version, commit and Go version",
		Long: `Prints the version and commit the binary was built from (set with -ldflags -X
by ci/run.sh and make up, else what the Go toolchain recorded) and the Go
version. Services report the same as the strata_build_info metric.`,
		Args: clikit.NoArgs,
	}
	output := clikit.Output(cmd, clikit.Table)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		b := observe.BuildInfo()
		out := cmd.OutOrStdout()
		if *output == clikit.JSON {
			return json.NewEncoder(out).Encode(b)
		}
		commit := b.Commit
		if commit == "" {
			commit = "unknown"
		}
		if b.Modified {
			commit += " (modified)"
		}
		_, err := fmt.Fprintf(out, "strata %s\ncommit %s\ngo     %s\n", b.Version, commit, b.GoVersion)
		return err
	}
	return cmd
}
