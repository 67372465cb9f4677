// Package backup is `strata backup verify`: a pg_dump restored into a
// scratch database matches the source per stream.
package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata backup verify`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "backup",
		Short: "verify a backup: pg_dump restored into a scratch database matches the source per stream",
	})
	cmd.AddCommand(verifyCommand())
	return cmd
}

func verifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "dump, restore into a scratch database, compare per stream",
		Long: `Dumps the source database with pg_dump (custom format) from an exported
snapshot, restores the dump with pg_restore into a new scratch database, and
compares the two: per stream the event count, the highest version and a
SHA-256 over every event (ids, types, schemas, payloads, metadata, recorded
times); the writer schemas; and the row counts of the store's tables. The
source side is read in the same snapshot the dump was taken from, so writes
that continue during the check do not disturb it. Exit 0 when everything
matches, 1 on a difference (listed), 2 when the check could not run.

--scratch-url is a URL of the server to restore into (its database part is
replaced by the scratch name; default the source server). The scratch database
is dropped afterwards unless --keep-scratch. Progress goes to stderr.`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	dbURL := clikit.DatabaseURL(cmd)
	scratchURL := f.String("scratch-url", "", "server to restore into (default the source's)")
	keepDump := f.String("keep-dump", "", "write the dump here and keep it (default a temporary file)")
	keepScratch := f.Bool("keep-scratch", false, "do not drop the scratch database")
	pgDump := f.String("pg-dump", "pg_dump", "pg_dump binary")
	pgRestore := f.String("pg-restore", "pg_restore", "pg_restore binary")
	asJSON := f.Bool("json", true, "print the report as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := clikit.RequireDatabase(*dbURL); err != nil {
			return err
		}
		stderr := cmd.ErrOrStderr()
		rep, err := VerifyBackup(cmd.Context(), BackupConfig{
			SourceURL: *dbURL, ScratchURL: *scratchURL, DumpFile: *keepDump, KeepScratch: *keepScratch,
			PgDump: *pgDump, PgRestore: *pgRestore, Progress: stderr,
		})
		if err != nil {
			return clikit.Unavailable(err)
		}
		if *asJSON {
			_ = json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
		}
		if !rep.OK {
			for _, d := range rep.Differences {
				fmt.Fprintf(stderr, "difference: %s\n", d)
			}
			return clikit.Exit(clikit.ExitFail, nil)
		}
		fmt.Fprintf(stderr, "backup verify: OK: %d streams, %d events match in %s\n", rep.Streams, rep.Events, rep.Scratch)
		return nil
	}
	return cmd
}

// BackupReport is what `strata backup verify` prints.
type BackupReport struct {
	OK          bool             `json:"ok"`
	Dump        string           `json:"dump"`
	DumpBytes   int64            `json:"dump_bytes"`
	Scratch     string           `json:"scratch_database"`
	Streams     int              `json:"streams"`
	Events      int64            `json:"events"`
	Tables      map[string]int64 `json:"tables"`
	Differences []string         `json:"differences,omitempty"`
	Seconds     float64          `json:"seconds"`
}

// storeTables are compared by row count.
var storeTables = []string{"events", "streams", "event_schemas", "snapshots", "checkpoints", "archived_streams",
	"messaging_relay_checkpoints", "messaging_processed_events"}

// BackupConfig configures VerifyBackup.
type BackupConfig struct {
	SourceURL   string
	ScratchURL  string // server for the scratch database; default SourceURL's
	DumpFile    string // keep the dump here; default a temporary file, removed
	KeepScratch bool
	PgDump      string
	PgRestore   string
	Progress    io.Writer // progress lines; nil: none
}

// VerifyBackup dumps, restores into a scratch database and compares.
func VerifyBackup(ctx context.Context, cfg BackupConfig) (*BackupReport, error) {
	start := time.Now()
	say := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "backup verify: "+format+"\n", a...)
		}
	}
	if cfg.PgDump == "" {
		cfg.PgDump = "pg_dump"
	}
	if cfg.PgRestore == "" {
		cfg.PgRestore = "pg_restore"
	}
	src, err := pgx.Connect(ctx, cfg.SourceURL)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer src.Close(context.WithoutCancel(ctx))
	// One snapshot for the dump and the source side of the comparison.
	tx, err := src.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("source snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	dump := cfg.DumpFile
	if dump == "" {
		f, err := os.CreateTemp("", "strata-backup-*.dump")
		if err != nil {
			return nil, err
		}
		f.Close()
		dump = f.Name()
		defer os.Remove(dump)
	}
	say("pg_dump (snapshot %s) -> %s", snapshot, dump)
	if err := runTool(ctx, cfg.PgDump, cfg.SourceURL, "--format=custom", "--no-owner", "--snapshot="+snapshot, "--file="+dump); err != nil {
		return nil, err
	}
	st, err := os.Stat(dump)
	if err != nil {
		return nil, err
	}
	rep := &BackupReport{Dump: dump, DumpBytes: st.Size(), Tables: map[string]int64{}}
	say("dumped %d bytes in %.1fs", st.Size(), time.Since(start).Seconds())

	say("reading the source's per-stream checksums")
	srcSums, err := archive.StreamChecksums(ctx, tx, nil)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	srcCounts, err := tableCounts(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	srcSchemas, err := schemaSums(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	_ = tx.Rollback(ctx)

	var b [4]byte
	_, _ = rand.Read(b[:])
	scratch := "strata_backup_verify_" + hex.EncodeToString(b[:])
	rep.Scratch = scratch
	server := cfg.ScratchURL
	if server == "" {
		server = cfg.SourceURL
	}
	scratchURL, err := withDatabase(server, scratch)
	if err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("scratch server: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+scratch); err != nil {
		return nil, fmt.Errorf("create scratch database: %w", err)
	}
	if !cfg.KeepScratch {
		defer func() {
			say("dropping %s", scratch)
			if _, err := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)"); err != nil {
				say("drop %s: %v", scratch, err)
			}
		}()
	}
	say("pg_restore -> %s", scratch)
	rstart := time.Now()
	if err := runTool(ctx, cfg.PgRestore, scratchURL, "--no-owner", "--exit-on-error", dump); err != nil {
		return nil, err
	}
	say("restored in %.1fs; comparing", time.Since(rstart).Seconds())
	dst, err := pgx.Connect(ctx, scratchURL)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	defer dst.Close(context.WithoutCancel(ctx))
	dstSums, err := archive.StreamChecksums(ctx, dst, nil)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	dstCounts, err := tableCounts(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	dstSchemas, err := schemaSums(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	rep.Differences = compareBackup(srcSums, dstSums, srcCounts, dstCounts, srcSchemas, dstSchemas)
	for _, s := range srcSums {
		rep.Events += s.Events
	}
	rep.Streams = len(srcSums)
	rep.Tables = srcCounts
	rep.OK = len(rep.Differences) == 0
	rep.Seconds = time.Since(start).Seconds()
	if cfg.DumpFile == "" {
		rep.Dump = ""
	}
	return rep, nil
}

func compareBackup(src, dst map[string]archive.StreamSum, srcCounts, dstCounts map[string]int64, srcSchemas, dstSchemas map[string]string) []string {
	var diffs []string
	ids := make([]string, 0, len(src)+len(dst))
	for id := range src {
		ids = append(ids, id)
	}
	for id := range dst {
		if _, ok := src[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s, okS := src[id]
		d, okD := dst[id]
		switch {
		case !okD:
			diffs = append(diffs, fmt.Sprintf("stream %s: %d events in the source, missing from the restore", id, s.Events))
		case !okS:
			diffs = append(diffs, fmt.Sprintf("stream %s: in the restore, not in the source", id))
		case s != d:
			diffs = append(diffs, fmt.Sprintf("stream %s: source %d events v%d %s, restore %d events v%d %s", id,
				s.Events, s.Version, s.Checksum[:12], d.Events, d.Version, d.Checksum[:12]))
		}
	}
	for _, t := range storeTables {
		if srcCounts[t] != dstCounts[t] {
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows in the source, %d in the restore", t, srcCounts[t], dstCounts[t]))
		}
	}
	for fp, sum := range srcSchemas {
		if dstSchemas[fp] != sum {
			diffs = append(diffs, fmt.Sprintf("writer schema %s differs or is missing in the restore", fp))
		}
	}
	if len(dstSchemas) != len(srcSchemas) {
		diffs = append(diffs, fmt.Sprintf("writer schemas: %d in the source, %d in the restore", len(srcSchemas), len(dstSchemas)))
	}
	return diffs
}

// tableCounts counts the rows of the store's tables that exist (-1: absent).
func tableCounts(ctx context.Context, q archive.Querier) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range storeTables {
		var exists bool
		if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			out[t] = -1
			continue
		}
		var n int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// schemaSums maps each writer schema fingerprint to a hash of its name and text.
func schemaSums(ctx context.Context, q archive.Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT encode(fingerprint, 'hex'), encode(sha256(convert_to(full_name, 'UTF8') || '\x00'::bytea || convert_to(schema_json, 'UTF8')), 'hex') FROM event_schemas`)
	if err != nil {
		return nil, fmt.Errorf("writer schemas: %w", err)
	}
	out := map[string]string{}
	for rows.Next() {
		var fp, sum string
		if err := rows.Scan(&fp, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		out[fp] = sum
	}
	return out, rows.Err()
}

func withDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + db
	return u.String(), nil
}

// runTool runs a PostgreSQL client tool against dbURL. The password goes in
// PGPASSWORD, not on the command line (where ps would show it).
func runTool(ctx context.Context, name, dbURL string, args ...string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("database URL: %w", err)
	}
	env := os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	cmd := exec.CommandContext(ctx, name, append([]string{"--dbname=" + u.String()}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
