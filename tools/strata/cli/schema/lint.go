package schema

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stratahq/strata/schemalint"
)

// schemaLintFlags defines the flags of `strata schema lint [--format text|json] [PATH...]`.
// A PATH is a schema folder (linted whole) or a file (linted within the
// folder two levels up, so that references and domains resolve).
func schemaLintFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	format := fs.String("format", "text", "text or json")
	return func(_ context.Context, stdio IO, paths []string) int {
		if *format != "text" && *format != "json" {
			return fail(stdio, "lint", fmt.Errorf("--format %q: want text or json", *format))
		}
		if _, err := sf.load(); err != nil {
			return fail(stdio, "lint", err)
		}
		if len(paths) == 0 {
			paths = []string{sf.schemas}
		}
		var findings []schemalint.Finding
		for _, p := range paths {
			got, err := lintPath(sf, p)
			if err != nil {
				return fail(stdio, "lint", err)
			}
			findings = append(findings, got...)
		}
		if *format == "json" {
			if findings == nil {
				findings = []schemalint.Finding{}
			}
			enc := json.NewEncoder(stdio.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(findings); err != nil {
				return fail(stdio, "lint", err)
			}
		} else {
			for _, f := range findings {
				fmt.Fprintln(stdio.Out, f)
			}
		}
		if *format == "text" {
			fmt.Fprintf(stdio.Err, "schema lint: %d finding(s)\n", len(findings))
		}
		if len(findings) > 0 {
			return ExitFail
		}
		return ExitOK
	}
}

func lintPath(sf *schemaFlags, p string) ([]schemalint.Finding, error) {
	info, err := os.Stat(sf.abs(p))
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", p, err)
	}
	dir, only := p, ""
	if !info.IsDir() {
		only = filepath.ToSlash(filepath.Clean(p))
		dir = filepath.Dir(filepath.Dir(p))
	}
	sub := schemaFlags{root: sf.root, schemas: dir}
	set, err := sub.loadWorkTree()
	if err != nil {
		return nil, fmt.Errorf("lint %s: %w", p, err)
	}
	findings := schemalint.Lint(set, schemalint.Options{NamespacePrefix: sf.proj.Namespace})
	if only != "" {
		findings = slices.DeleteFunc(findings, func(f schemalint.Finding) bool {
			return f.Path != strings.TrimPrefix(only, "/")
		})
	}
	if filepath.IsAbs(dir) {
		for i := range findings {
			findings[i].Path = "/" + findings[i].Path
		}
	}
	return findings, nil
}
