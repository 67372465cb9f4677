package schema

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/evolve"
)

// schemaVerifyFlags defines the flags of `strata schema verify [--database-url URL]
// [--archive-dir DIR] [--registry URL] [--format text|json]`: every writer
// schema in the event store, the archives and the registry (the project's
// subjects) must reach the current type by a declared path.
func schemaVerifyFlags(fs *flag.FlagSet, sf *schemaFlags) runFunc {
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "event store database (env DATABASE_URL; empty: skip)")
	archiveDir := fs.String("archive-dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (env STRATA_ARCHIVE_DIR; empty: skip)")
	registryURL := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry (env SCHEMA_REGISTRY_URL; empty: skip)")
	format := fs.String("format", "text", "text or json")
	return func(ctx context.Context, stdio IO, rest []string) int {
		if len(rest) > 0 {
			return fail(stdio, "verify", fmt.Errorf("unexpected arguments %q", rest))
		}
		if *format != "text" && *format != "json" {
			return fail(stdio, "verify", fmt.Errorf("--format %q: want text or json", *format))
		}
		subjects, err := sf.load()
		if err != nil {
			return fail(stdio, "verify", err)
		}
		cat, err := evolve.Load(sf.proj, subjects.Subjects)
		if err != nil {
			return fail(stdio, "verify", err)
		}
		var writers []evolve.Writer
		var sources []string
		if *dbURL != "" {
			pool, err := pgxpool.New(ctx, *dbURL)
			if err != nil {
				return fail(stdio, "verify", fmt.Errorf("database: %w", err))
			}
			ws, err := evolve.StoreWriters(ctx, pool)
			pool.Close()
			if err != nil {
				return fail(stdio, "verify", err)
			}
			writers = append(writers, ws...)
			sources = append(sources, "event store")
		}
		if *archiveDir != "" {
			ws, err := evolve.ArchiveWriters(*archiveDir)
			if err != nil {
				return fail(stdio, "verify", err)
			}
			writers = append(writers, ws...)
			sources = append(sources, "archives")
		}
		if *registryURL != "" {
			c, err := newRegistryClient(*registryURL)
			if err != nil {
				return fail(stdio, "verify", err)
			}
			ws, err := evolve.RegistryWriters(c, cat.Names())
			if err != nil {
				return fail(stdio, "verify", err)
			}
			writers = append(writers, ws...)
			sources = append(sources, "registry")
		}
		if len(sources) == 0 {
			return fail(stdio, "verify", errors.New("nothing to verify: give --database-url, --archive-dir or --registry (or their environment variables)"))
		}
		proofs := make([]evolve.Proof, 0, len(writers))
		failed := 0
		for _, w := range writers {
			p := cat.Prove(w)
			if !p.OK {
				failed++
			}
			proofs = append(proofs, p)
		}
		if *format == "json" {
			enc := json.NewEncoder(stdio.Out)
			for _, p := range proofs {
				if err := enc.Encode(p); err != nil {
					return fail(stdio, "verify", err)
				}
			}
		} else {
			tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tVERSION\tFINGERPRINT\tSOURCE\tPATH")
			for _, p := range proofs {
				path := p.Path
				switch {
				case p.Skipped:
					path = "skipped: " + p.Reason
				case !p.OK:
					path = "NO PATH: " + p.Reason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Type, p.Version, p.Fingerprint, p.Source, path)
			}
			if err := tw.Flush(); err != nil {
				return fail(stdio, "verify", err)
			}
			fmt.Fprintf(stdio.Err, "schema verify (%v): %d writer schema(s), %d without a declared path\n", sources, len(proofs), failed)
		}
		if failed > 0 {
			return ExitFail
		}
		return ExitOK
	}
}
