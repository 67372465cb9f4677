package schema

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/hamba/avro/v2"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/compat"
	"github.com/stratahq/strata/registry/client"
)

// schemaRegisterFlags defines the flags of `strata schema register [--dry-run]`: every subject
// of the schema folder is registered (RecordNameStrategy: subject = Avro full
// name) after its compatibility level is set from subjects.yaml. Registering
// a schema the subject already has changes nothing and prints its version
// and id again. With --dry-run nothing is written: each subject's level and
// what would happen are printed (offline when no registry URL is known).
func schemaRegisterFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	dryRun := fs.Bool("dry-run", false, "print what would be registered; write nothing")
	registryURL := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "registry URL (default $SCHEMA_REGISTRY_URL)")
	allowLower := map[string]bool{}
	fs.Func("allow-lower-level", "SUBJECT (repeatable, or * for every subject): allow setting a level that checks less than the registry's current one; logged", func(v string) error {
		allowLower[v] = true
		return nil
	})
	return func(ctx context.Context, stdio IO, rest []string) int {
		if len(rest) > 0 {
			return fail(stdio, "register", fmt.Errorf("unexpected arguments %q", rest))
		}
		cfg, err := sf.load()
		if err != nil {
			return fail(stdio, "register", err)
		}
		work, err := sf.loadWorkTree()
		if err != nil {
			return fail(stdio, "register", err)
		}
		for _, name := range cfg.unknownSubjects(work) {
			fmt.Fprintf(stdio.Err, "strata schema register: warning: %s configures %s, which is not a subject of %s\n", sf.config, name, sf.schemas)
		}
		for _, f := range work.Files {
			if f.Err != nil {
				return fail(stdio, "register", fmt.Errorf("%s does not parse (run strata schema lint): %w", f.Path, f.Err))
			}
		}
		if *registryURL == "" && !*dryRun {
			return fail(stdio, "register", errors.New("no registry: set SCHEMA_REGISTRY_URL or --registry (or use --dry-run)"))
		}
		var rc registryClient
		if *registryURL != "" {
			c, err := newRegistryClient(*registryURL)
			if err != nil {
				return fail(stdio, "register", err)
			}
			rc = c
		}
		tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SUBJECT\tLEVEL\tVERSION\tID\tSTATUS")
		exit := ExitOK
		for _, f := range work.Subjects() {
			if err := ctx.Err(); err != nil {
				tw.Flush()
				return fail(stdio, "register", err)
			}
			subject, level := cfg.subject(f), cfg.level(cfg.subject(f))
			if rc == nil {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\twould register (offline dry run)\n", subject, level)
				continue
			}
			// The registry's current level is a floor too: register never
			// quietly pushes a weaker level (e.g. NONE) than the subject has.
			if cur, err := rc.GetCompatibilityLevel(subject, false); err == nil && cur != nil {
				if curLevel, perr := compat.ParseLevel(string(*cur)); perr == nil && !level.Covers(curLevel) {
					if !allowLower[subject] && !allowLower["*"] {
						fmt.Fprintf(tw, "%s\t%s\t-\t-\tREFUSED: level would be lowered from %s (--allow-lower-level %s)\n", subject, level, curLevel, subject)
						exit = ExitFail
						continue
					}
					fmt.Fprintf(stdio.Err, "strata schema register: OVERRIDE: %s level lowered from %s to %s (--allow-lower-level)\n", subject, curLevel, level)
				}
			} else if err != nil && !client.IsNotFound(err) {
				tw.Flush()
				return fail(stdio, "register", fmt.Errorf("%s: get level: %w", subject, err))
			}
			row, failed, err := registerOne(rc, subject, level, f.Text, f.Schema, *dryRun)
			if err != nil {
				tw.Flush()
				return fail(stdio, "register", fmt.Errorf("%s: %w", subject, err))
			}
			if failed {
				exit = ExitFail
			}
			fmt.Fprintln(tw, row)
		}
		if err := tw.Flush(); err != nil {
			return fail(stdio, "register", err)
		}
		return exit
	}
}

// registerOne sets the subject's level and registers text under it. failed
// reports a schema the registry (or, in a dry run, our checker) refuses.
func registerOne(c registryClient, subject string, level compat.Level, text string, schema avro.Schema, dryRun bool) (row string, failed bool, err error) {
	levelNote := ""
	if dryRun {
		cur, err := c.GetCompatibilityLevel(subject, false)
		switch {
		case client.IsNotFound(err):
			levelNote = "; would set level"
		case err != nil:
			return "", false, fmt.Errorf("get level: %w", err)
		case cur == nil || string(*cur) != string(level):
			levelNote = "; would set level"
		}
	} else if _, err := c.ChangeSubjectCompatibilityLevel(subject, srclient.CompatibilityLevel(level)); err != nil {
		return "", false, fmt.Errorf("set level %s: %w", level, err)
	}
	got, err := c.LookupSchema(subject, text, srclient.Avro)
	if err == nil {
		return fmt.Sprintf("%s\t%s\t%d\t%d\tunchanged%s", subject, level, got.Version(), got.ID(), levelNote), false, nil
	}
	if !client.IsNotFound(err) {
		return "", false, fmt.Errorf("look up: %w", err)
	}
	if dryRun {
		prev, err := registryVersions(c, subject, level)
		if err != nil {
			return "", false, err
		}
		schemas := make([]avro.Schema, len(prev))
		for i, v := range prev {
			schemas[i] = v.schema
		}
		if problems := compat.Check(level, schemas, schema); len(problems) > 0 {
			return fmt.Sprintf("%s\t%s\t-\t-\twould be refused: %s%s", subject, level, problems[0], levelNote), true, nil
		}
		return fmt.Sprintf("%s\t%s\t-\t-\twould register as version %d%s", subject, level, len(prev)+1, levelNote), false, nil
	}
	if _, err := c.CreateSchema(subject, text, srclient.Avro); err != nil {
		if client.IsIncompatible(err) {
			return fmt.Sprintf("%s\t%s\t-\t-\tREFUSED by the registry: %v", subject, level, err), true, nil
		}
		return "", false, fmt.Errorf("register: %w", err)
	}
	got, err = c.LookupSchema(subject, text, srclient.Avro)
	if err != nil {
		return "", false, fmt.Errorf("look up after registering: %w", err)
	}
	return fmt.Sprintf("%s\t%s\t%d\t%d\tregistered", subject, level, got.Version(), got.ID()), false, nil
}
