// Package schema is `strata schema`: the Avro contract workflow (lint,
// compat, the CI gate, register, catalog, verify, upcaster scaffolding). Each
// subcommand reads the project file (strata.yaml); the work is done by the
// library packages project, schemalint, compat, codegen and evolve.
package schema

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/project"
	"github.com/stratahq/strata/schemalint"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// IO is what a subcommand reads and writes.
type IO = clikit.IO

// Exit codes (see clikit).
const (
	ExitOK    = clikit.ExitOK
	ExitFail  = clikit.ExitFail
	ExitUsage = clikit.ExitUsage
)

// runFunc runs a subcommand after its flags are parsed; args are the
// positional arguments. It returns the exit code.
type runFunc func(ctx context.Context, stdio IO, args []string) int

// Command is `strata schema SUBCOMMAND`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "schema",
		Short: "Avro contracts: lint, compat, check (CI gate), register, catalog, verify, upcaster",
		Long: `The schema workflow over the project's Avro contracts (strata.yaml names the
folders, namespace and subjects file): lint, check against the base branch
(the CI gate), register with the registry, write the catalog, verify that
every stored writer schema reaches today's type, and scaffold upcasters.

Exit codes: 0 ok, 1 findings, incompatible or unproven, 2 usage error or
unreadable input. See docs/schema-evolution.md.`,
	})
	cmd.AddCommand(
		sub("lint [PATH...]", "lint .avsc files (default: the project's schema folder): path:line: RULE message", schemaLintFlags),
		sub("compat OLD.avsc... NEW.avsc", "check NEW against previous versions (oldest first) at --level", schemaCompatFlags),
		sub("check", "the CI gate: every subject at its level against the base branch (git) or the registry", schemaCheckFlags),
		sub("register", "set each subject's level and register its schema", schemaRegisterFlags),
		sub("catalog", "write the event catalog (one page per subject)", schemaCatalogFlags),
		sub("verify", "prove every writer schema in the store, archives and registry reaches today's type by a declared path", schemaVerifyFlags),
		sub("upcaster TYPE", "scaffold the upcaster, history schema and golden payload for TYPE's change since the base", schemaUpcasterFlags),
	)
	return cmd
}

// sub builds a subcommand whose flags flags defines (on a Go flag set, with
// --root added) and whose run function it returns.
func sub(use, short string, flags func(*flag.FlagSet, *schemaFlags) runFunc) *cobra.Command {
	sf := &schemaFlags{}
	fs := flag.NewFlagSet(use, flag.ContinueOnError)
	fs.StringVar(&sf.root, "root", "", "project folder holding strata.yaml (default: this folder or the nearest parent with one)")
	run := flags(fs, sf)
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.Flags().AddGoFlagSet(fs)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		code := run(cmd.Context(), IO{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()}, args)
		if code != ExitOK {
			return clikit.Exit(code, nil)
		}
		return nil
	}
	return cmd
}

// schemaFlags are the flags every schema subcommand shares, and what they
// load: the project file (strata.yaml) names every other path.
type schemaFlags struct {
	root string // project folder, where strata.yaml is ("": found from the working folder)

	proj    *project.Project
	schemas string // schema folder, relative to root (strata.yaml schemas.avro)
	config  string // subjects file, relative to root (strata.yaml schemas.subjects)
}

// load reads the project file and the subjects file it names.
func (sf *schemaFlags) load() (*subjectsConfig, error) {
	file := ""
	if sf.root != "" {
		file = filepath.Join(sf.root, project.FileName)
	}
	p, err := project.Open(file)
	if err != nil {
		return nil, err
	}
	sf.proj, sf.root = p, p.Dir
	sf.schemas, sf.config = p.Schemas.Avro, p.Schemas.Subjects
	subjects, err := project.LoadSubjects(p.Path(p.Schemas.Subjects))
	if err != nil {
		return nil, err
	}
	return &subjectsConfig{Subjects: subjects, proj: p}, nil
}

func (sf *schemaFlags) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(sf.root, p)
}

// loadWorkTree loads the schema set of the working tree.
func (sf *schemaFlags) loadWorkTree() (*schemalint.Set, error) {
	root := filepath.ToSlash(filepath.Clean(sf.schemas))
	if _, err := os.Stat(sf.abs(root)); err != nil {
		return nil, fmt.Errorf("schema folder: %w", err)
	}
	if filepath.IsAbs(root) {
		return schemalint.Load(os.DirFS("/"), strings.TrimPrefix(root, "/"))
	}
	return schemalint.Load(os.DirFS(sf.root), root)
}

// fail reports err and returns ExitUsage: unreadable input, bad flags or an
// unreachable dependency.
func fail(stdio IO, sub string, err error) int {
	fmt.Fprintf(stdio.Err, "strata schema %s: %v\n", sub, err)
	return ExitUsage
}
