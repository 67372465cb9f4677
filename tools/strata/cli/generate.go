package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/stratahq/strata/codegen"
	"github.com/stratahq/strata/project"
)

const generateSummary = "generate Go code from the project's schemas (strata.yaml): Avro types, type registry, buf, sqlc"

// runGenerate is `strata generate [--project strata.yaml] [--tools-modfile F]`.
func runGenerate(ctx context.Context, stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata generate", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	file := fs.String("project", "", "project file (default: strata.yaml in this folder or the nearest parent)")
	tools := fs.String("tools-modfile", os.Getenv("STRATA_TOOLS_MODFILE"), "go.mod pinning buf and sqlc as tools, run with `go tool -modfile` (default $STRATA_TOOLS_MODFILE; else buf and sqlc from PATH)")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "strata generate: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	}
	p, err := loadProject(*file)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata generate: %v\n", err)
		return ExitUsage
	}
	if err := codegen.Generate(ctx, p, codegen.Options{ToolsModfile: *tools, Log: stdio.Err}); err != nil {
		fmt.Fprintf(stdio.Err, "strata generate: %v\n", err)
		return ExitFail
	}
	return ExitOK
}

// loadProject loads file, or the project file found from the working
// folder when file is "".
func loadProject(file string) (*project.Project, error) {
	if file == "" {
		found, err := project.Find(".")
		if err != nil {
			return nil, err
		}
		file = found
	}
	return project.Load(file)
}
