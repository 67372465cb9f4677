package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stratahq/strata/eventstore/archive"
)

const (
	archiveSummary = "move closed streams older than a cut-off to Avro archive files (list, verify)"
	restoreSummary = "bring an archive's streams back into the event store"
)

// defaultClosedTypes are the shop's terminal events: a stream whose last
// event is one of them takes no more commands.
var defaultClosedTypes = "shop.order.OrderShipped,shop.order.OrderCancelled"

func archiveUsage(w io.Writer) {
	fmt.Fprintf(w, `usage: strata archive (--before TIME | --older-than DURATION) [--dir DIR] [--closed-types T,...]
                      [--stream-types T,...] [--limit N] [--dry-run] [--ignore-checkpoints]
       strata archive list [--dir DIR]
       strata archive verify ARCHIVE_ID [--dir DIR]
       strata restore ARCHIVE_ID [--dir DIR]

archive moves the events of closed streams last changed before the cut-off
into DIR/<archive id>/ as Avro Object Container Files with manifest.json and
SHA256SUMS (sha256sum -c), verifies what it wrote, then deletes the events
from the store. A stream is closed when it is tombstoned or its last event has
one of --closed-types (default %s). Streams that a
subscription or relay checkpoint has not passed are left alone. Progress goes
to stderr, the manifest summary (JSON) to stdout.

restore verifies the archive and puts its streams back with their original
positions; streams already restored are skipped. verify checks the files.

DIR defaults to $STRATA_ARCHIVE_DIR.
`, defaultClosedTypes)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// progressPrinter prints long operations' progress to w: each phase's start
// and end, and at most one line a second in between.
func progressPrinter(w io.Writer, cmd string) func(archive.Progress) {
	var phase string
	var last time.Time
	return func(p archive.Progress) {
		now := time.Now()
		if p.Phase == phase && p.Done < p.Total && now.Sub(last) < time.Second {
			return
		}
		phase, last = p.Phase, now
		item := ""
		if p.Item != "" {
			item = " " + p.Item
		}
		fmt.Fprintf(w, "%s: %s %d/%d%s\n", cmd, p.Phase, p.Done, p.Total, item)
	}
}

func runArchive(ctx context.Context, stdio IO, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "help":
			archiveUsage(stdio.Out)
			return ExitOK
		case "list":
			return runArchiveList(stdio, args[1:])
		case "verify":
			return runArchiveVerify(stdio, args[1:])
		}
	}
	fs := flag.NewFlagSet("strata archive", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() { archiveUsage(stdio.Err); fs.PrintDefaults() }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "event store PostgreSQL URL (default $DATABASE_URL)")
	dir := fs.String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (default $STRATA_ARCHIVE_DIR)")
	before := fs.String("before", "", "cut-off: RFC 3339 time or date (2026-01-31)")
	olderThan := fs.Duration("older-than", 0, "cut-off relative to now, e.g. 2160h (90 days)")
	closed := fs.String("closed-types", defaultClosedTypes, "event types that close a stream")
	streamTypes := fs.String("stream-types", "", "only these stream types")
	limit := fs.Int("limit", 0, "streams at most (0: no cap)")
	dry := fs.Bool("dry-run", false, "list the streams that would be archived; write nothing")
	ignoreCP := fs.Bool("ignore-checkpoints", false, "also archive streams a checkpoint has not passed (readers may miss them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	cut, err := cutoff(*before, *olderThan, time.Now())
	if err != nil || fs.NArg() > 0 || (*dir == "" && !*dry) {
		if err == nil && fs.NArg() > 0 {
			err = fmt.Errorf("unexpected %q", fs.Args())
		} else if err == nil {
			err = errors.New("no archive directory: --dir or STRATA_ARCHIVE_DIR")
		}
		fmt.Fprintf(stdio.Err, "strata archive: %v\n", err)
		return ExitUsage
	}
	pool, store, err := openStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata archive: %v\n", err)
		return ExitUsage
	}
	defer pool.Close()
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fmt.Fprintf(stdio.Err, "strata archive: %v\n", err)
			return ExitUsage
		}
	}
	a, err := archive.New(store, archive.Config{Dir: *dir})
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata archive: %v\n", err)
		return ExitUsage
	}
	m, err := a.Archive(ctx, archive.Policy{
		Before: cut, ClosedTypes: splitList(*closed), StreamTypes: splitList(*streamTypes),
		Limit: *limit, DryRun: *dry, IgnoreCheckpoints: *ignoreCP,
	}, progressPrinter(stdio.Err, "archive"))
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata archive: %v\n", err)
		return ExitFail
	}
	archived, skipped := 0, 0
	for _, s := range m.Streams {
		if s.Status == archive.StatusSkipped {
			skipped++
		} else {
			archived++
		}
	}
	summary := map[string]any{"archive_id": m.ID, "before": m.Before, "streams": archived, "skipped": skipped,
		"events": m.Events, "files": len(m.Files), "dry_run": *dry}
	if m.ID != "" {
		summary["dir"] = *dir + string(os.PathSeparator) + m.ID
	}
	if *dry {
		ids := make([]string, 0, len(m.Streams))
		for _, s := range m.Streams {
			ids = append(ids, s.StreamID)
		}
		summary["stream_ids"] = ids
	}
	_ = json.NewEncoder(stdio.Out).Encode(summary)
	return ExitOK
}

// cutoff parses --before (RFC 3339 or a date) or --older-than.
func cutoff(before string, olderThan time.Duration, now time.Time) (time.Time, error) {
	switch {
	case before != "" && olderThan != 0:
		return time.Time{}, errors.New("give --before or --older-than, not both")
	case before != "":
		if t, err := time.Parse(time.RFC3339, before); err == nil {
			return t, nil
		}
		t, err := time.Parse("2006-01-02", before)
		if err != nil {
			return time.Time{}, fmt.Errorf("--before %q: want RFC 3339 or YYYY-MM-DD", before)
		}
		return t, nil
	case olderThan > 0:
		return now.Add(-olderThan), nil
	}
	return time.Time{}, errors.New("no cut-off: --before or --older-than")
}

func runArchiveList(stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata archive list", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	dir := fs.String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (default $STRATA_ARCHIVE_DIR)")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	ents, err := os.ReadDir(*dir)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata archive list: %v\n", err)
		return ExitUsage
	}
	enc := json.NewEncoder(stdio.Out)
	for _, e := range ents {
		m, err := archive.ReadManifest(*dir + string(os.PathSeparator) + e.Name())
		if err != nil {
			continue
		}
		archived := 0
		for _, s := range m.Streams {
			if s.Status == archive.StatusArchived {
				archived++
			}
		}
		_ = enc.Encode(map[string]any{"archive_id": m.ID, "created_at": m.CreatedAt, "before": m.Before,
			"streams": archived, "events": m.Events, "files": len(m.Files)})
	}
	return ExitOK
}

func runArchiveVerify(stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata archive verify", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	dir := fs.String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (default $STRATA_ARCHIVE_DIR)")
	pos, err := interleaved(fs, args)
	if err != nil || len(pos) != 1 {
		fmt.Fprintln(stdio.Err, "usage: strata archive verify ARCHIVE_ID [--dir DIR]")
		return ExitUsage
	}
	path := pos[0]
	if !strings.ContainsRune(path, os.PathSeparator) {
		path = *dir + string(os.PathSeparator) + path
	}
	m, rep, err := archive.Verify(path, progressPrinter(stdio.Err, "verify"))
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata archive verify: %v\n", err)
		return ExitFail
	}
	_ = json.NewEncoder(stdio.Out).Encode(map[string]any{"archive_id": m.ID, "ok": true, "files": rep.Files,
		"streams": rep.Streams, "events": rep.Events})
	return ExitOK
}

func runRestore(ctx context.Context, stdio IO, args []string) int {
	fs := flag.NewFlagSet("strata restore", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() { archiveUsage(stdio.Err); fs.PrintDefaults() }
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "event store PostgreSQL URL (default $DATABASE_URL)")
	dir := fs.String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (default $STRATA_ARCHIVE_DIR)")
	pos, err := interleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Err, "strata restore: want exactly one ARCHIVE_ID (or a path to it)")
		return ExitUsage
	}
	pool, store, err := openStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata restore: %v\n", err)
		return ExitUsage
	}
	defer pool.Close()
	a, err := archive.New(store, archive.Config{Dir: *dir})
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata restore: %v\n", err)
		return ExitUsage
	}
	res, err := a.Restore(ctx, pos[0], progressPrinter(stdio.Err, "restore"))
	if err != nil {
		fmt.Fprintf(stdio.Err, "strata restore: %v\n", err)
		return ExitFail
	}
	_ = json.NewEncoder(stdio.Out).Encode(map[string]any{"archive_id": res.ArchiveID, "restored": len(res.Restored),
		"skipped": len(res.Skipped), "events": res.Events})
	return ExitOK
}
