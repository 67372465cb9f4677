// Package archive is `strata archive`: move closed streams to Avro archive
// files, list and verify archives. `strata restore` (package restore) brings
// them back.
package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata archive [list|verify]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "archive (--before TIME | --older-than DURATION)",
		Short: "move closed streams older than a cut-off to Avro archive files (list, verify)",
		Long: `Moves the events of closed streams last changed before the cut-off into
DIR/<archive id>/ as Avro Object Container Files with manifest.json and
SHA256SUMS (sha256sum -c), verifies what it wrote, then deletes the events
from the store. A stream is closed when it is tombstoned or its last event has
one of --closed-types (default $STRATA_ARCHIVE_CLOSED_TYPES; your domain's
terminal events, e.g. shop.order.OrderShipped,shop.order.OrderCancelled for
the example shop). Without either only tombstoned streams are closed. Streams that a
subscription or relay checkpoint has not passed are left alone. Progress goes
to stderr, the manifest summary (JSON) to stdout.

strata restore ARCHIVE_ID verifies an archive and puts its streams back with
their original positions. DIR defaults to $STRATA_ARCHIVE_DIR.`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	dbURL := clikit.DatabaseURL(cmd)
	dir := dirFlag(cmd)
	before := f.String("before", "", "cut-off: RFC 3339 time or date (2026-01-31)")
	olderThan := f.Duration("older-than", 0, "cut-off relative to now, e.g. 2160h (90 days)")
	closed := f.String("closed-types", os.Getenv("STRATA_ARCHIVE_CLOSED_TYPES"), "event types that close a stream, comma-separated (env STRATA_ARCHIVE_CLOSED_TYPES)")
	streamTypes := f.String("stream-types", "", "only these stream types")
	limit := f.Int("limit", 0, "streams at most (0: no cap)")
	dry := f.Bool("dry-run", false, "list the streams that would be archived; write nothing")
	ignoreCP := f.Bool("ignore-checkpoints", false, "also archive streams a checkpoint has not passed (readers may miss them)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		cut, err := cutoff(*before, *olderThan, time.Now())
		if err != nil {
			return &clikit.UsageError{Err: err}
		}
		if *dir == "" && !*dry {
			return clikit.Usagef("no archive directory: --dir or STRATA_ARCHIVE_DIR")
		}
		if *closed == "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "archive: no --closed-types (or STRATA_ARCHIVE_CLOSED_TYPES): only tombstoned streams count as closed")
		}
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		if *dir != "" {
			if err := os.MkdirAll(*dir, 0o755); err != nil {
				return clikit.Unavailable(err)
			}
		}
		a, err := archive.New(store, archive.Config{Dir: *dir})
		if err != nil {
			return clikit.Unavailable(err)
		}
		m, err := a.Archive(ctx, archive.Policy{
			Before: cut, ClosedTypes: clikit.SplitList(*closed), StreamTypes: clikit.SplitList(*streamTypes),
			Limit: *limit, DryRun: *dry, IgnoreCheckpoints: *ignoreCP,
		}, Progress(cmd.ErrOrStderr(), "archive"))
		if err != nil {
			return err
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
		return json.NewEncoder(cmd.OutOrStdout()).Encode(summary)
	}
	cmd.AddCommand(listCommand(), verifyCommand())
	return cmd
}

func dirFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (env STRATA_ARCHIVE_DIR)")
}

func listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "the archives in DIR",
		Args:  clikit.NoArgs,
	}
	dir := dirFlag(cmd)
	output := clikit.Output(cmd, clikit.JSON)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ents, err := os.ReadDir(*dir)
		if err != nil {
			return clikit.Unavailable(err)
		}
		l := clikit.NewLister(cmd.OutOrStdout(), *output, "ARCHIVE ID", "CREATED", "BEFORE", "STREAMS", "EVENTS", "FILES")
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
			_ = l.Row(map[string]any{"archive_id": m.ID, "created_at": m.CreatedAt, "before": m.Before,
				"streams": archived, "events": m.Events, "files": len(m.Files)},
				m.ID, m.CreatedAt.UTC().Format(time.RFC3339), m.Before.UTC().Format(time.RFC3339), archived, m.Events, len(m.Files))
		}
		return l.Flush()
	}
	return cmd
}

func verifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify ARCHIVE_ID",
		Short: "check an archive's files against its manifest and checksums",
		Args:  clikit.ExactArgs(1, "want one ARCHIVE_ID (or a path to it)"),
	}
	dir := dirFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path := args[0]
		if !strings.ContainsRune(path, os.PathSeparator) {
			path = *dir + string(os.PathSeparator) + path
		}
		m, rep, err := archive.Verify(path, Progress(cmd.ErrOrStderr(), "verify"))
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"archive_id": m.ID, "ok": true, "files": rep.Files,
			"streams": rep.Streams, "events": rep.Events})
	}
	return cmd
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

// Progress prints long operations' progress to w: each phase's start and
// end, and at most one line a second in between.
func Progress(w io.Writer, cmd string) func(archive.Progress) {
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
