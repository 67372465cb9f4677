// Package events is `strata events show|tail`: a stream's events or the
// global log, decoded with the writer schema (any type), as JSON.
package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata events show|tail`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "events",
		Short: "show a stream's events or tail the global log, decoded with their writer schemas",
		Long: `One JSON object per line (-o table: one row per event): the envelope
(stream, version, position, tx_id, event_id, type, recorded_at,
correlation_id, causation_id, user_id, traceparent), the writer schema
(fingerprint; with a registry, its subject version) and data: the payload
decoded with the writer schema the store keeps. Any event type decodes; no
generated code is needed. With a registry (--registry, default
$SCHEMA_REGISTRY_URL) the data is also resolved to the latest schema
registered for the type (Avro schema resolution: added fields get their
defaults) and "upcast" says so; --raw keeps it as written. Changes Avro cannot
resolve (a project's own upcasters) are shown as written, with a note.`,
	})
	cmd.AddCommand(showCommand(), tailCommand())
	return cmd
}

func showCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show STREAM",
		Short: "the events of one stream",
		Long: `Prints the events of one stream, one JSON object per line.

An archived stream is read from its archive files with --archive-dir (default
$STRATA_ARCHIVE_DIR); without it show says which archive holds it (exit 1).`,
		Args: clikit.ExactArgs(1, "want exactly one STREAM"),
	}
	f := cmd.Flags()
	dbURL := clikit.DatabaseURL(cmd)
	from := f.Int64("from", 1, "first version")
	limit := f.Int("limit", 0, "events at most (0: all)")
	archiveDir := f.String("archive-dir", os.Getenv("STRATA_ARCHIVE_DIR"), "read archived streams from here (env STRATA_ARCHIVE_DIR)")
	dec := decodeFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		p, err := dec(store, cmd.OutOrStdout())
		if err != nil {
			return err
		}
		a, err := archive.New(store, archive.Config{Dir: *archiveDir, ReadThrough: *archiveDir != ""})
		if err != nil {
			return clikit.Unavailable(err)
		}
		evs, err := a.ReadStream(ctx, args[0], *from, *limit)
		if err != nil {
			if errors.Is(err, archive.ErrArchived) && *archiveDir == "" {
				return fmt.Errorf("%w\n(pass --archive-dir or set STRATA_ARCHIVE_DIR to read it from the archive)", err)
			}
			return err
		}
		if err := p.print(ctx, evs); err != nil {
			return err
		}
		return p.list.Flush()
	}
	return cmd
}

func tailCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "the global log in commit order",
		Long: `Prints events of the global log in commit order (the order the relay and
subscriptions see): the last --last events (default 10), or every event after
--after, then with --follow new ones as they commit until interrupted or
--limit events were printed.`,
		Args: clikit.NoArgs,
	}
	f := cmd.Flags()
	dbURL := clikit.DatabaseURL(cmd)
	last := f.Int("last", 10, "start with the last N events of the log")
	after := f.String("after", "", "start after this cursor (txid:position, as printed in \"cursor\"); overrides --last")
	typeList := f.String("types", "", "only these event types (comma-separated Avro full names)")
	follow := f.Bool("follow", false, "keep printing new events as they commit")
	limit := f.Int("limit", 0, "stop after N events (0: no limit)")
	dec := decodeFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		types := clikit.SplitList(*typeList)
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		p, err := dec(store, cmd.OutOrStdout())
		if err != nil {
			return err
		}
		start, head, found, err := tailWindow(ctx, pool, *last, types)
		if err != nil {
			return err
		}
		if *after != "" {
			if start, err = eventstore.ParseCursor(*after); err != nil {
				return clikit.Usagef("--after: %v", err)
			}
		}
		printed := 0
		stop := errors.New("limit reached")
		handle := func(ctx context.Context, evs []eventstore.RecordedEvent) error {
			defer p.list.Flush()
			for i := range evs {
				if *limit > 0 && printed >= *limit {
					return stop
				}
				if err := p.print(ctx, evs[i:i+1]); err != nil {
					return err
				}
				printed++
			}
			if *limit > 0 && printed >= *limit {
				return stop
			}
			return nil
		}
		if !*follow {
			// Up to the head as it was at the start: a log that keeps
			// growing does not keep the command printing.
			if !found || !start.Less(head) {
				return p.list.Flush()
			}
			cur := start
			for {
				var evs []eventstore.RecordedEvent
				if len(types) > 0 {
					evs, err = store.ReadByType(ctx, types, cur, time.Time{}, 500)
				} else {
					evs, err = store.ReadAll(ctx, cur, 500)
				}
				end := len(evs)
				for end > 0 && head.Less(evs[end-1].Cursor()) {
					end--
				}
				if err == nil && end > 0 {
					err = handle(ctx, evs[:end])
					cur = evs[end-1].Cursor()
				}
				if errors.Is(err, stop) || (err == nil && (end < len(evs) || len(evs) == 0 || !cur.Less(head))) {
					return p.list.Flush()
				}
				if err != nil {
					return err
				}
			}
		}
		err = store.Subscribe(ctx, eventstore.SubscribeOptions{From: start, Types: types}, handle)
		if errors.Is(err, stop) || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return cmd
}

// tailWindow returns, from one statement (one read horizon), the cursor
// before the last n readable events (of types, when set) of the global log
// and the cursor of the last one (ok false: no such events). A read from
// start that stops at head prints exactly those n, however fast writers
// append meanwhile.
func tailWindow(ctx context.Context, pool *pgxpool.Pool, n int, types []string) (start, head eventstore.Cursor, ok bool, err error) {
	rows, err := pool.Query(ctx, `SELECT tx_id::text, position FROM events
		WHERE tx_id < eventstore_horizon() AND ($2::text[] IS NULL OR event_type = ANY ($2::text[]))
		ORDER BY tx_id DESC, position DESC LIMIT $1`, max(n, 0)+1, nilIfEmpty(types))
	if err != nil {
		return start, head, false, fmt.Errorf("tail window: %w", err)
	}
	var cursors []eventstore.Cursor
	for rows.Next() {
		var tx string
		var pos int64
		if err := rows.Scan(&tx, &pos); err != nil {
			rows.Close()
			return start, head, false, fmt.Errorf("tail window: %w", err)
		}
		c, err := eventstore.ParseCursor(tx + ":" + fmt.Sprint(pos))
		if err != nil {
			rows.Close()
			return start, head, false, err
		}
		cursors = append(cursors, c)
	}
	if err := rows.Err(); err != nil {
		return start, head, false, fmt.Errorf("tail window: %w", err)
	}
	if len(cursors) == 0 {
		return eventstore.Start, eventstore.Start, false, nil
	}
	head, start = cursors[0], eventstore.Start
	if len(cursors) == max(n, 0)+1 {
		start = cursors[len(cursors)-1] // fewer: from the start
	}
	return start, head, true, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// decodeFlags adds --registry, --raw and -o (default json) and returns the
// printer they describe.
func decodeFlags(cmd *cobra.Command) func(*eventstore.Store, io.Writer) (*printer, error) {
	regURL := clikit.Registry(cmd)
	raw := cmd.Flags().Bool("raw", false, "data as written (the writer schema), not resolved to the latest registered schema")
	output := clikit.Output(cmd, clikit.JSON)
	return func(store *eventstore.Store, out io.Writer) (*printer, error) {
		return newPrinter(store, *regURL, *raw, out, *output)
	}
}
