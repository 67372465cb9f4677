package schema

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hamba/avro/v2"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/schemalint"
)

// schemaCompatFlags defines the flags of `strata schema compat [--level L] OLD.avsc... NEW.avsc`:
// NEW against the previous versions, oldest first. Exit 0 compatible, 1 not,
// 2 unreadable input or usage error.
func schemaCompatFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	levelName := fs.String("level", string(compat.Backward), "BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE")
	format := fs.String("format", "text", "text or json")
	return func(_ context.Context, stdio IO, files []string) int {
		level, err := compat.ParseLevel(*levelName)
		if err != nil {
			return fail(stdio, "compat", err)
		}
		if *format != "text" && *format != "json" {
			return fail(stdio, "compat", fmt.Errorf("--format %q: want text or json", *format))
		}
		if len(files) < 2 {
			fmt.Fprintln(stdio.Err, "usage: strata schema compat [--level LEVEL] OLD.avsc... NEW.avsc")
			return ExitUsage
		}
		schemas := make([]avro.Schema, len(files))
		for i, f := range files {
			s, err := readSchemaFile(sf.abs(f))
			if err != nil {
				return fail(stdio, "compat", err)
			}
			schemas[i] = s
		}
		prev, next := schemas[:len(schemas)-1], schemas[len(schemas)-1]
		problems := compat.Check(level, prev, next)
		newFile := files[len(files)-1]
		if *format == "json" {
			type jsonProblem struct {
				Type      string `json:"type"`
				Location  string `json:"location"`
				Message   string `json:"message"`
				Direction string `json:"direction"`
				Against   string `json:"against"`
			}
			out := struct {
				Level      compat.Level  `json:"level"`
				New        string        `json:"new"`
				Previous   []string      `json:"previous"`
				Compatible bool          `json:"compatible"`
				Problems   []jsonProblem `json:"incompatibilities"`
			}{Level: level, New: newFile, Previous: files[:len(files)-1], Compatible: len(problems) == 0, Problems: []jsonProblem{}}
			for _, p := range problems {
				out.Problems = append(out.Problems, jsonProblem{p.Type, p.Location, p.Message, p.Direction, files[p.Version-1]})
			}
			enc := json.NewEncoder(stdio.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return fail(stdio, "compat", err)
			}
		} else {
			for _, p := range problems {
				fmt.Fprintf(stdio.Out, "%s %s %s (%s)\n", p.Type, p.Location, p.Message, explain(p, newFile, files[p.Version-1]))
			}
			if len(problems) == 0 {
				fmt.Fprintf(stdio.Out, "compatible: %s at %s against %d previous version(s)\n", newFile, level, len(prev))
			} else {
				fmt.Fprintf(stdio.Out, "incompatible: %s at %s: %d problem(s)\n", newFile, level, len(problems))
			}
		}
		if len(problems) > 0 {
			return ExitFail
		}
		return ExitOK
	}
}

// explain says which schema reads which.
func explain(p compat.Incompatibility, newName, oldName string) string {
	if p.Direction == compat.DirForward {
		return fmt.Sprintf("%s cannot read data written with %s", oldName, newName)
	}
	return fmt.Sprintf("%s cannot read data written with %s", newName, oldName)
}

// readSchemaFile parses one .avsc file on its own; when it refers to types
// defined in other files, it is resolved within its schema folder (two
// levels up: <root>/<domain>/<Name>.avsc).
func readSchemaFile(path string) (avro.Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	s, parseErr := compat.Parse(string(data))
	if parseErr == nil {
		return s, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, parseErr)
	}
	root := filepath.Dir(filepath.Dir(abs))
	set, err := schemalint.Load(os.DirFS(root), ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(parseErr, err))
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, parseErr)
	}
	for _, f := range set.Files {
		if f.Path == filepath.ToSlash(rel) {
			if f.Err != nil {
				return nil, fmt.Errorf("%s: %w", path, f.Err)
			}
			return f.Schema, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", path, parseErr)
}
