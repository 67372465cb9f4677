package schema

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratahq/strata/schemalint"
)

const schemaSummary = "Avro contracts: lint, compat, check (CI gate), register, catalog"

// runSchema dispatches `strata schema SUBCOMMAND`.
func runSchema(ctx context.Context, stdio IO, args []string) int {
	subs := map[string]func(context.Context, IO, []string) int{
		"lint":     runSchemaLint,
		"compat":   runSchemaCompat,
		"check":    runSchemaCheck,
		"register": runSchemaRegister,
		"catalog":  runSchemaCatalog,
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		schemaUsage(stdio.Out)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	run, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stdio.Err, "strata schema: unknown subcommand %q\n\n", args[0])
		schemaUsage(stdio.Err)
		return ExitUsage
	}
	return run(ctx, stdio, args[1:])
}

func schemaUsage(w io.Writer) {
	io.WriteString(w, `usage: strata schema SUBCOMMAND [FLAGS] [ARGS]

subcommands:
  lint [PATH...]                       lint .avsc files (default schemas/avro): path:line: RULE message
  compat [--level L] OLD.avsc... NEW   check NEW against previous versions (oldest first)
  check [--against git:REF|registry]   the CI gate: changed subjects at their configured level
  register [--dry-run]                 register every subject and set its compatibility level
  catalog [--out docs/events]          write the event catalog

exit codes: 0 ok, 1 findings or incompatible, 2 usage error or unreadable input.
See docs/schema-evolution.md.
`)
}

// schemaFlags are the flags every schema subcommand shares.
type schemaFlags struct {
	root    string // repository root; every other path is relative to it
	schemas string // schema root, relative to root
	config  string // subjects.yaml, relative to root
}

func newSchemaFlagSet(name string, stdio IO, sf *schemaFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("strata schema "+name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.StringVar(&sf.root, "root", ".", "repository root (paths below are relative to it)")
	fs.StringVar(&sf.schemas, "schemas", "schemas/avro", "folder of .avsc files, one subfolder per domain")
	fs.StringVar(&sf.config, "config", "schemas/subjects.yaml", "subjects, levels, topics, producers and consumers")
	return fs
}

// parseFlags parses args allowing flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
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
