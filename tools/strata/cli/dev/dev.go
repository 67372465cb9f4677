// Package dev is `strata dev up|down|status|env`: the local stack
// (PostgreSQL, Kafka and the schema registry on 127.0.0.1) for any project,
// run by the same scripts as Strata's own `make up` (package ci/stack), with
// its data under the project's .local/ folder.
package dev

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/ci/stack"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command returns `strata dev`.
func Command() *cobra.Command {
	var projectDir string
	cmd := clikit.Group(&cobra.Command{
		Use:   "dev",
		Short: "the local stack for this project: PostgreSQL, Kafka, schema registry (up, down, status, env)",
		Long: `The local stack for a project: PostgreSQL 127.0.0.1:55432, Kafka 127.0.0.1:9092 and
the schema registry 127.0.0.1:8081 (served by this strata), with data and logs under
the project's .local/ folder. The project is the folder of the nearest strata.yaml
(or --project). The ports are fixed: one stack per machine at a time.`,
	})
	cmd.PersistentFlags().StringVar(&projectDir, "project", "", "project folder (default: the folder of the nearest strata.yaml, else this one)")
	for _, sub := range []struct{ name, short string }{
		{"up", "start what is down, leave what is healthy alone (downloads Kafka once)"},
		{"down", "stop the stack (data stays in .local/)"},
		{"status", "health of each component; exit 1 if one is down"},
		{"env", "export lines of the stack's addresses: eval \"$(strata dev env)\""},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   sub.name + " [COMPONENT...]",
			Short: sub.short,
			RunE: func(c *cobra.Command, args []string) error {
				dir, err := project(projectDir)
				if err != nil {
					return err
				}
				self, err := os.Executable()
				if err != nil {
					return err
				}
				run, err := stack.Command(c.Context(), dir, self, append([]string{sub.name}, args...)...)
				if err != nil {
					return err
				}
				run.Stdout, run.Stderr = c.OutOrStdout(), c.ErrOrStderr()
				err = run.Run()
				if ee, ok := errors.AsType[*exec.ExitError](err); ok {
					return clikit.Exit(ee.ExitCode(), nil) // the script said what is wrong
				}
				return err
			},
		})
	}
	return cmd
}

// project is dir, or the folder of the nearest strata.yaml from the working
// folder up, or the working folder.
func project(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "strata.yaml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return wd, nil
		}
	}
}
