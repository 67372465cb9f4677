// Package events is `strata events show|tail`: a stream's events or the
// global log, decoded and upcast, as JSON.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	"github.com/stratahq/strata/upcasters"
)

// Command is `strata events show|tail`.
func Command() *cobra.Command {
	cmd := clikit.Group(&cobra.Command{
		Use:   "events",
		Short: "show a stream's events or tail the global log, decoded and upcast, as JSON",
		Long: `One JSON object per line: the envelope (stream, version, position, tx_id,
event_id, type, recorded_at, correlation_id, causation_id, user_id,
traceparent), the writer schema (fingerprint, the version of its upcaster
chain, whether it was upcast) and data: the payload decoded with the writer
schema the store keeps and upcast to the current type (--raw: decoded with the
writer schema only, not upcast).`,
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
	raw := f.Bool("raw", false, "decode with the writer schema only, do not upcast")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		p, err := newEventPrinter(store, cmd.OutOrStdout(), *raw)
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
		return p.print(ctx, evs)
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
	raw := f.Bool("raw", false, "decode with the writer schema only, do not upcast")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		types := clikit.SplitList(*typeList)
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		p, err := newEventPrinter(store, cmd.OutOrStdout(), *raw)
		if err != nil {
			return err
		}
		start := eventstore.Start
		if *after != "" {
			if start, err = eventstore.ParseCursor(*after); err != nil {
				return clikit.Usagef("--after: %v", err)
			}
		} else if start, err = tailStart(ctx, pool, *last, types); err != nil {
			return err
		}
		printed := 0
		stop := errors.New("limit reached")
		handle := func(ctx context.Context, evs []eventstore.RecordedEvent) error {
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
			cur := start
			for {
				var evs []eventstore.RecordedEvent
				if len(types) > 0 {
					evs, err = store.ReadByType(ctx, types, cur, time.Time{}, 500)
				} else {
					evs, err = store.ReadAll(ctx, cur, 500)
				}
				if err == nil && len(evs) > 0 {
					err = handle(ctx, evs)
					cur = evs[len(evs)-1].Cursor()
				}
				if errors.Is(err, stop) || (err == nil && len(evs) == 0) {
					return nil
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

// eventPrinter decodes stored events to JSON lines.
type eventPrinter struct {
	store   *eventstore.Store
	types   *serde.Registry
	up      *upcasters.Upcaster
	raw     bool
	enc     *json.Encoder
	writers map[eventstore.Fingerprint]avro.Schema
}

func newEventPrinter(store *eventstore.Store, out io.Writer, raw bool) (*eventPrinter, error) {
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		return nil, err
	}
	up, err := upcasters.New(types, upcasters.Chains()...)
	if err != nil {
		return nil, err
	}
	return &eventPrinter{store: store, types: types, up: up, raw: raw, enc: json.NewEncoder(out),
		writers: map[eventstore.Fingerprint]avro.Schema{}}, nil
}

// EventJSON is the shape `strata events` prints.
type EventJSON struct {
	Stream        string          `json:"stream"`
	StreamType    string          `json:"stream_type"`
	Version       int64           `json:"version"`
	Position      int64           `json:"position"`
	TxID          uint64          `json:"tx_id"`
	Cursor        string          `json:"cursor"`
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	RecordedAt    time.Time       `json:"recorded_at"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	UserID        string          `json:"user_id,omitempty"`
	TraceParent   string          `json:"traceparent,omitempty"`
	Writer        string          `json:"writer_fingerprint"`
	WriterVersion int             `json:"writer_version,omitempty"` // version in the type's upcaster chain, when it has one
	Upcast        bool            `json:"upcast"`                   // the writer schema is not the current one
	Data          json.RawMessage `json:"data,omitempty"`
	Error         string          `json:"error,omitempty"` // why data is missing
}

func (p *eventPrinter) writer(ctx context.Context, fp eventstore.Fingerprint) (avro.Schema, error) {
	if s, ok := p.writers[fp]; ok {
		return s, nil
	}
	sc, err := p.store.Schema(ctx, fp)
	if err != nil {
		return nil, err
	}
	s, err := upcasters.ParseSchema(sc.JSON)
	if err != nil {
		return nil, fmt.Errorf("writer schema %s: %w", fp, err)
	}
	p.writers[fp] = s
	return s, nil
}

// toJSON decodes one event; a decode failure is reported in the object, not fatal.
func (p *eventPrinter) toJSON(ctx context.Context, e *eventstore.RecordedEvent) EventJSON {
	out := EventJSON{
		Stream: e.StreamID, StreamType: e.StreamType, Version: e.Version, Position: e.Position, TxID: e.TxID,
		Cursor: e.Cursor().String(), EventID: e.ID.String(), Type: e.Type, RecordedAt: e.RecordedAt.UTC(),
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, UserID: e.UserID, TraceParent: e.TraceParent,
		Writer: e.Fingerprint.String(),
	}
	if n, ok := p.up.Version(e.Type, e.Fingerprint); ok {
		out.WriterVersion = n
	}
	cur, known := p.types.ByName(e.Type)
	out.Upcast = !known || cur.Fingerprint != e.Fingerprint
	data, err := p.decode(ctx, e, cur, known)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Data = data
	return out
}

func (p *eventPrinter) decode(ctx context.Context, e *eventstore.RecordedEvent, cur serde.Type, known bool) (json.RawMessage, error) {
	w, err := p.writer(ctx, e.Fingerprint)
	if err != nil {
		return nil, err
	}
	var generic any
	if p.raw || !known {
		if err := avro.Unmarshal(w, e.Payload, &generic); err != nil {
			return nil, fmt.Errorf("decode with the writer schema: %w", err)
		}
	} else {
		v, err := p.up.Decode(e.Type, w, e.Payload)
		if err != nil {
			return nil, fmt.Errorf("upcast: %w", err)
		}
		_, body, err := p.types.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("re-encode %s: %w", e.Type, err)
		}
		if err := avro.Unmarshal(cur.Schema, body, &generic); err != nil {
			return nil, fmt.Errorf("decode current %s: %w", e.Type, err)
		}
	}
	b, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("to JSON: %w", err)
	}
	return b, nil
}

func (p *eventPrinter) print(ctx context.Context, evs []eventstore.RecordedEvent) error {
	for i := range evs {
		if err := p.enc.Encode(p.toJSON(ctx, &evs[i])); err != nil {
			return err
		}
	}
	return nil
}

// tailStart returns the cursor before the last n readable events (of types,
// when set) of the global log.
func tailStart(ctx context.Context, pool *pgxpool.Pool, n int, types []string) (eventstore.Cursor, error) {
	if n <= 0 {
		var tx string
		var pos int64
		err := pool.QueryRow(ctx, `SELECT COALESCE(max(tx_id)::text, '0'), COALESCE(max(position), 0) FROM events
			WHERE tx_id = (SELECT max(tx_id) FROM events WHERE tx_id < eventstore_horizon())`).Scan(&tx, &pos)
		if err != nil {
			return eventstore.Start, fmt.Errorf("log head: %w", err)
		}
		return eventstore.ParseCursor(tx + ":" + fmt.Sprint(pos))
	}
	var tx *string
	var pos *int64
	err := pool.QueryRow(ctx, `SELECT tx_id::text, position FROM events
		WHERE tx_id < eventstore_horizon() AND ($2::text[] IS NULL OR event_type = ANY ($2::text[]))
		ORDER BY tx_id DESC, position DESC OFFSET $1 LIMIT 1`, n, nilIfEmpty(types)).Scan(&tx, &pos)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return eventstore.Start, nil // fewer than n events: from the start
		}
		return eventstore.Start, fmt.Errorf("tail start: %w", err)
	}
	return eventstore.ParseCursor(*tx + ":" + fmt.Sprint(*pos))
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
