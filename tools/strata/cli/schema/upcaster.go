package schema

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stratahq/strata/evolve"
)

// schemaUpcasterFlags defines the flags of `strata schema upcaster TYPE [--against git:REF]
// [--dir upcasters] [--package NAME]`: scaffolds the upcaster and golden
// payload for TYPE's change since REF (default: the merge-base with main),
// and prints the history entry to add to the subjects file.
func schemaUpcasterFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	against := fs.String("against", "", "git:REF holding the schema data was written with (default: the merge-base of HEAD with main)")
	dir := fs.String("dir", "upcasters", "Go package folder of the project's upcasters, relative to the project folder")
	pkg := fs.String("package", "", "its package name (default: the folder's name)")
	return func(ctx context.Context, stdio IO, rest []string) int {
		if len(rest) != 1 {
			return fail(stdio, "upcaster", fmt.Errorf("want one event type (an Avro full name), got %q", rest))
		}
		typ := rest[0]
		subjects, err := sf.load()
		if err != nil {
			return fail(stdio, "upcaster", err)
		}
		cat, err := evolve.Load(sf.proj, subjects.Subjects)
		if err != nil {
			return fail(stdio, "upcaster", err)
		}
		t, ok := cat.Type(typ)
		if !ok {
			return fail(stdio, "upcaster", fmt.Errorf("%s is not a subject of %s", typ, sf.schemas))
		}
		work, err := sf.loadWorkTree()
		if err != nil {
			return fail(stdio, "upcaster", err)
		}
		ref := strings.TrimPrefix(*against, "git:")
		if ref == "" {
			if ref = defaultBase(ctx, sf.root); ref == "" {
				return fail(stdio, "upcaster", errors.New("no merge-base with main: give --against git:REF"))
			}
		}
		base, err := loadGitSet(ctx, sf.root, ref, sf.schemas)
		if err != nil {
			return fail(stdio, "upcaster", err)
		}
		old := base.Lookup(typ)
		if old == nil || old.Err != nil {
			return fail(stdio, "upcaster", fmt.Errorf("%s has no readable schema at %s: nothing was written with an older version", typ, ref))
		}
		if *pkg == "" {
			*pkg = filepath.Base(*dir)
		}
		sc, err := evolve.ScaffoldUpcaster(evolve.ScaffoldInput{
			Type: typ, Old: old.Text, New: work.Lookup(typ).Text, Version: t.CurrentVersion(), Dir: filepath.ToSlash(*dir), Package: *pkg,
		})
		if err != nil {
			return fail(stdio, "upcaster", err)
		}
		names := make([]string, 0, len(sc.Files))
		for name := range sc.Files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := sf.proj.Path(name)
			if _, err := os.Stat(p); err == nil {
				return fail(stdio, "upcaster", fmt.Errorf("%s exists: not overwritten", name))
			}
		}
		for _, name := range names {
			p := sf.proj.Path(name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fail(stdio, "upcaster", err)
			}
			if err := os.WriteFile(p, sc.Files[name], 0o644); err != nil {
				return fail(stdio, "upcaster", err)
			}
			fmt.Fprintf(stdio.Out, "wrote %s\n", name)
		}
		if len(sc.Problems) == 0 {
			fmt.Fprintf(stdio.Out, "\nAvro resolution carries this change (package compat accepts it): no upcaster needed.\n")
		} else {
			fmt.Fprintf(stdio.Out, "\nAvro resolution cannot carry this change:\n")
			for _, p := range sc.Problems {
				fmt.Fprintf(stdio.Out, "  %s\n", p)
			}
		}
		fmt.Fprintf(stdio.Out, "\nAdd to %s (under the subject's entry; keep its level):\n%s", sf.config, sc.Declaration)
		return ExitOK
	}
}
