package archive

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/hamba/avro/v2/ocf"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
)

// streamLockKey is the event store's per-stream append lock class ('stra'),
// taken with hashtext(stream_id) by eventstore_append.
const streamLockKey = 1937011297

const migration = `
CREATE TABLE IF NOT EXISTS archived_streams (
    stream_id      text        PRIMARY KEY,
    stream_type    text        NOT NULL,
    archive_id     text        NOT NULL,
    version        bigint      NOT NULL,
    events         bigint      NOT NULL,
    checksum       text        NOT NULL,
    first_position bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    archived_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS archived_streams_archive_idx ON archived_streams (archive_id);
-- passed_by: the readers (subscription checkpoints, "relay:" + relay name)
-- that had passed the stream's last event when it was archived; a restore
-- below any other reader's cursor is refused (that reader never saw them).
ALTER TABLE archived_streams ADD COLUMN IF NOT EXISTS passed_by text[] NOT NULL DEFAULT '{}';
-- An append to an archived stream is refused: it would succeed and later
-- reads would return only the new events. One check per append statement,
-- only in stores that have archived something (this migration is archive's).
CREATE OR REPLACE FUNCTION archived_streams_refuse_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sid text;
BEGIN
    SELECT n.stream_id INTO sid FROM new_events n JOIN archived_streams a USING (stream_id) LIMIT 1;
    IF sid IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = '` + eventstore.ArchivedRefusalMessage + `: ' || sid,
            HINT = 'strata restore brings the stream back before it takes appends';
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS archived_streams_refuse_append ON events;
CREATE TRIGGER archived_streams_refuse_append AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION archived_streams_refuse_append();`

// Migrate creates the archived_streams table (idempotent, under an advisory lock).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(1937011297, hashtext('strata archive migrate'))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, migration)
		return err
	})
	if err != nil {
		return fmt.Errorf("archive migrate: %w", err)
	}
	return nil
}

// Config configures an Archiver.
type Config struct {
	// Dir holds one sub-directory per archive run (required by Archive,
	// and by Restore and ReadThrough given an archive id rather than a path).
	Dir string
	// ReadThrough makes ReadStream read archived streams from their files
	// instead of returning an *ArchivedError.
	ReadThrough bool
	// FileEvents caps the events per container file (a stream never spans
	// files). Default 100,000.
	FileEvents int64
	// Clock stamps manifests and archived_streams rows; default time.Now.
	Clock func() time.Time
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.ReadThrough && c.Dir == "" {
		errs = append(errs, fmt.Errorf("%w: ReadThrough without Dir", ErrInvalidArgument))
	}
	if c.FileEvents < 0 {
		errs = append(errs, fmt.Errorf("%w: FileEvents %d < 0", ErrInvalidArgument, c.FileEvents))
	}
	return errors.Join(errs...)
}

// Archiver archives and restores streams of one event store.
type Archiver struct {
	store *eventstore.Store
	pool  *pgxpool.Pool
	cfg   Config
}

// New returns an Archiver for store. Call Migrate first.
func New(store *eventstore.Store, cfg Config) (*Archiver, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalidArgument)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FileEvents == 0 {
		cfg.FileEvents = 100_000
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Archiver{store: store, pool: store.Pool(), cfg: cfg}, nil
}

// Policy chooses the streams an archive run takes.
type Policy struct {
	// Before is the cut-off: only streams last changed before it (required).
	Before time.Time
	// ClosedTypes: a stream whose last event has one of these types is closed.
	// Tombstoned streams are always closed.
	ClosedTypes []string
	// StreamTypes, when set, restricts the run to these stream types.
	StreamTypes []string
	// Limit caps the streams of one run; 0 = no cap.
	Limit int
	// IgnoreCheckpoints archives streams that a subscription or relay
	// checkpoint has not passed yet. Without it such streams are left alone,
	// so no reader of the global log can miss an event.
	IgnoreCheckpoints bool
	// DryRun selects and reports the streams without writing or deleting.
	DryRun bool
}

// Progress is reported during long operations.
type Progress struct {
	Phase       string // select, write, verify, delete, restore
	Done, Total int
	Item        string // stream or file at hand
}

type candidate struct {
	StreamEntry
	lastTx uint64
}

// Archive runs one archive: select, write, verify, delete. The manifest is
// returned also when the run selected nothing (ID empty, nothing written).
func (a *Archiver) Archive(ctx context.Context, p Policy, progress func(Progress)) (*Manifest, error) {
	if p.Before.IsZero() {
		return nil, fmt.Errorf("archive: %w: no cut-off (Policy.Before)", ErrInvalidArgument)
	}
	if a.cfg.Dir == "" && !p.DryRun {
		return nil, fmt.Errorf("archive: %w: no directory (Config.Dir)", ErrInvalidArgument)
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	now := a.cfg.Clock().UTC()
	m := &Manifest{Format: Format, CreatedAt: now, Before: p.Before.UTC(), ClosedTypes: p.ClosedTypes}
	cands, err := a.candidates(ctx, p)
	if err != nil {
		return nil, err
	}
	progress(Progress{Phase: "select", Done: len(cands), Total: len(cands)})
	for _, c := range cands {
		m.Streams = append(m.Streams, c.StreamEntry)
	}
	if p.DryRun || len(cands) == 0 {
		for _, c := range cands {
			m.Events += c.Events
		}
		return m, nil
	}
	m.ID = newID(now)
	final := filepath.Join(a.cfg.Dir, m.ID)
	tmp := final + ".partial"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if err := a.write(ctx, tmp, m, progress); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := writeManifest(tmp, m); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if _, _, err := Verify(tmp, progress); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("archive: written files do not verify: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	// Deletion: one transaction per stream. The manifest on disk says
	// "pending" until this loop ends; archived_streams is the truth.
	changed := false
	for i := range m.Streams {
		s := &m.Streams[i]
		progress(Progress{Phase: "delete", Done: i, Total: len(m.Streams), Item: s.StreamID})
		ok, reason, err := a.remove(ctx, m.ID, s, now)
		if err != nil {
			return m, fmt.Errorf("archive %s: stream %s: %w (streams before it are archived; rerun to continue)", m.ID, s.StreamID, err)
		}
		if ok {
			s.Status = StatusArchived
		} else {
			s.Status, s.Reason = StatusSkipped, reason
		}
		changed = true
	}
	progress(Progress{Phase: "delete", Done: len(m.Streams), Total: len(m.Streams)})
	if changed {
		if err := writeManifest(final, m); err != nil {
			return m, err
		}
	}
	return m, nil
}

func newID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// minCheckpoint returns the lowest cursor of every subscription and relay
// checkpoint (ok false: there are none).
func (a *Archiver) minCheckpoint(ctx context.Context) (eventstore.Cursor, bool, error) {
	var exists bool
	if err := a.pool.QueryRow(ctx, `SELECT to_regclass('messaging_relay_checkpoints') IS NOT NULL`).Scan(&exists); err != nil {
		return eventstore.Cursor{}, false, fmt.Errorf("checkpoints: %w", err)
	}
	q := `SELECT tx_id::text, position FROM checkpoints`
	if exists {
		q += ` UNION ALL SELECT tx_id::text, position FROM messaging_relay_checkpoints`
	}
	rows, err := a.pool.Query(ctx, q)
	if err != nil {
		return eventstore.Cursor{}, false, fmt.Errorf("checkpoints: %w", err)
	}
	var lowest eventstore.Cursor
	found := false
	for rows.Next() {
		var tx string
		var pos int64
		if err := rows.Scan(&tx, &pos); err != nil {
			rows.Close()
			return eventstore.Cursor{}, false, fmt.Errorf("checkpoints: %w", err)
		}
		t, err := strconv.ParseUint(tx, 10, 64)
		if err != nil {
			rows.Close()
			return eventstore.Cursor{}, false, fmt.Errorf("checkpoints: tx id %q: %w", tx, err)
		}
		c := eventstore.Cursor{TxID: t, Position: pos}
		if !found || c.Less(lowest) {
			lowest, found = c, true
		}
	}
	if err := rows.Err(); err != nil {
		return eventstore.Cursor{}, false, fmt.Errorf("checkpoints: %w", err)
	}
	return lowest, found, nil
}

func (a *Archiver) candidates(ctx context.Context, p Policy) ([]candidate, error) {
	if err := Migrate(ctx, a.pool); err != nil {
		return nil, err
	}
	limit := int64(math.MaxInt64)
	if p.Limit > 0 {
		limit = int64(p.Limit)
	}
	var streamTypes []string
	if len(p.StreamTypes) > 0 {
		streamTypes = p.StreamTypes
	}
	closed := p.ClosedTypes
	if closed == nil {
		closed = []string{}
	}
	rows, err := a.pool.Query(ctx, `
SELECT s.stream_id, s.stream_type, s.version, s.tombstoned, e.event_type, e.tx_id::text, e.position,
       (SELECT min(f.position) FROM events f WHERE f.stream_id = s.stream_id),
       (SELECT count(*) FROM events f WHERE f.stream_id = s.stream_id)
  FROM streams s
  JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version
 WHERE s.updated_at < $1
   AND NOT EXISTS (SELECT 1 FROM archived_streams a WHERE a.stream_id = s.stream_id)
   AND ($3::text[] IS NULL OR s.stream_type = ANY ($3::text[]))
   AND (s.tombstoned OR e.event_type = ANY ($2::text[]))
 ORDER BY s.updated_at, s.stream_id`, p.Before, closed, streamTypes)
	if err != nil {
		return nil, fmt.Errorf("archive: select streams: %w", err)
	}
	var out []candidate
	for rows.Next() {
		var c candidate
		var tx string
		if err := rows.Scan(&c.StreamID, &c.StreamType, &c.Version, &c.Tombstoned, &c.LastType, &tx, &c.LastPosition, &c.FirstPosition, &c.Events); err != nil {
			rows.Close()
			return nil, fmt.Errorf("archive: select streams: %w", err)
		}
		if c.lastTx, err = strconv.ParseUint(tx, 10, 64); err != nil {
			rows.Close()
			return nil, fmt.Errorf("archive: tx id %q: %w", tx, err)
		}
		c.Status = StatusPending
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("archive: select streams: %w", err)
	}
	if !p.IgnoreCheckpoints {
		low, ok, err := a.minCheckpoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		if ok {
			out = slices.DeleteFunc(out, func(c candidate) bool {
				last := eventstore.Cursor{TxID: c.lastTx, Position: c.LastPosition}
				return low.Less(last) // a checkpoint has not passed the stream's last event
			})
		}
	}
	if int64(len(out)) > limit {
		out = out[:limit]
	}
	return out, nil
}

// write writes the candidates' events into container files in dir, filling
// in files, per-stream checksums and schemas.
func (a *Archiver) write(ctx context.Context, dir string, m *Manifest, progress func(Progress)) error {
	schema, cache, err := parseRecordSchema()
	if err != nil {
		return err
	}
	fps := map[eventstore.Fingerprint]bool{}
	var (
		f    *os.File
		bw   *bufio.Writer
		enc  *ocf.Encoder
		cur  *FileEntry
		meta []byte
	)
	closeFile := func() error {
		if enc == nil {
			return nil
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("archive: %s: %w", cur.Name, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("archive: %s: %w", cur.Name, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("archive: %s: %w", cur.Name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("archive: %s: %w", cur.Name, err)
		}
		sum, n, err := fileSHA256(filepath.Join(dir, cur.Name))
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		cur.SHA256, cur.Bytes = sum, n
		m.Files = append(m.Files, *cur)
		enc, cur = nil, nil
		return nil
	}
	// The schemas are known only after reading the events; collect them first
	// so that every file's metadata carries all of them.
	if err := a.collectSchemas(ctx, m, fps); err != nil {
		return err
	}
	if meta, err = json.Marshal(m.Schemas); err != nil {
		return fmt.Errorf("archive: schemas: %w", err)
	}
	for i := range m.Streams {
		s := &m.Streams[i]
		progress(Progress{Phase: "write", Done: i, Total: len(m.Streams), Item: s.StreamID})
		if enc != nil && cur.Events+s.Events > a.cfg.FileEvents && cur.Events > 0 {
			if err := closeFile(); err != nil {
				return err
			}
		}
		if enc == nil {
			cur = &FileEntry{Name: fmt.Sprintf("events-%05d.avro", len(m.Files)+1)}
			if f, err = os.Create(filepath.Join(dir, cur.Name)); err != nil {
				return fmt.Errorf("archive: %w", err)
			}
			bw = bufio.NewWriterSize(f, 1<<20)
			enc, err = ocf.NewEncoderWithSchema(schema, bw, ocf.WithCodec(ocf.Deflate), ocf.WithEncoderSchemaCache(cache),
				ocf.WithMetadataKeyVal("strata.schemas", meta), ocf.WithMetadataKeyVal("strata.archive_id", []byte(m.ID)))
			if err != nil {
				f.Close()
				return fmt.Errorf("archive: %s: %w", cur.Name, err)
			}
		}
		h := NewStreamHash()
		var n int64
		err := a.eachEvent(ctx, s.StreamID, func(r *Record) error {
			if err := h.Add(r); err != nil {
				return err
			}
			n++
			return enc.Encode(r)
		})
		if err != nil {
			if enc != nil {
				enc.Close()
				f.Close()
			}
			return fmt.Errorf("archive: stream %s: %w", s.StreamID, err)
		}
		if n != s.Events {
			f.Close()
			return fmt.Errorf("archive: stream %s: read %d events, expected %d (it changed; rerun)", s.StreamID, n, s.Events)
		}
		s.Checksum, s.File = h.Sum(), cur.Name
		cur.Events += n
		m.Events += n
	}
	progress(Progress{Phase: "write", Done: len(m.Streams), Total: len(m.Streams)})
	return closeFile()
}

func (a *Archiver) collectSchemas(ctx context.Context, m *Manifest, seen map[eventstore.Fingerprint]bool) error {
	ids := make([]string, len(m.Streams))
	for i, s := range m.Streams {
		ids[i] = s.StreamID
	}
	rows, err := a.pool.Query(ctx, `SELECT fingerprint, full_name, schema_json FROM event_schemas
		WHERE fingerprint IN (SELECT DISTINCT schema_fingerprint FROM events WHERE stream_id = ANY ($1)) ORDER BY full_name, fingerprint`, ids)
	if err != nil {
		return fmt.Errorf("archive: schemas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fp []byte
		var e SchemaEntry
		if err := rows.Scan(&fp, &e.Name, &e.JSON); err != nil {
			return fmt.Errorf("archive: schemas: %w", err)
		}
		var f eventstore.Fingerprint
		copy(f[:], fp)
		seen[f] = true
		e.Fingerprint = f.String()
		m.Schemas = append(m.Schemas, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("archive: schemas: %w", err)
	}
	return nil
}

// eachEvent calls fn with every stored event of stream in version order
// (truncated versions included: archiving keeps everything).
func (a *Archiver) eachEvent(ctx context.Context, stream string, fn func(*Record) error) error {
	rows, err := a.pool.Query(ctx, `SELECT position, tx_id::text, stream_id, stream_type, version, event_id::text, event_type,
		schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at
		FROM events WHERE stream_id = $1 ORDER BY version`, stream)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		var tx string
		var fp []byte
		if err := rows.Scan(&r.Position, &tx, &r.StreamID, &r.StreamType, &r.Version, &r.EventID, &r.EventType,
			&fp, &r.Payload, &r.CorrelationID, &r.CausationID, &r.UserID, &r.TraceParent, &r.RecordedAt); err != nil {
			return err
		}
		t, err := strconv.ParseInt(tx, 10, 64)
		if err != nil {
			return fmt.Errorf("tx id %q: %w", tx, err)
		}
		r.TxID = t
		copy(r.SchemaFingerprint[:], fp)
		r.RecordedAt = r.RecordedAt.UTC()
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// remove deletes an archived stream's events if it is unchanged since it was
// written, recording it in archived_streams. ok false with a reason: skipped.
func (a *Archiver) remove(ctx context.Context, archiveID string, s *StreamEntry, now time.Time) (ok bool, reason string, err error) {
	err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, streamLockKey, s.StreamID); err != nil {
			return err
		}
		var version int64
		if err := tx.QueryRow(ctx, `SELECT version FROM streams WHERE stream_id = $1 FOR UPDATE`, s.StreamID).Scan(&version); err != nil {
			return err
		}
		if version != s.Version {
			reason = fmt.Sprintf("stream version is now %d, archived %d", version, s.Version)
			return nil
		}
		sums, err := StreamChecksums(ctx, tx, []string{s.StreamID})
		if err != nil {
			return err
		}
		if got := sums[s.StreamID]; got.Checksum != s.Checksum || got.Events != s.Events {
			reason = fmt.Sprintf("stored events differ from the archived ones (%d events, checksum %s)", got.Events, got.Checksum)
			return nil
		}
		passed, err := readersPast(ctx, tx, s.StreamID, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO archived_streams (stream_id, stream_type, archive_id, version, events, checksum,
			first_position, last_position, archived_at, passed_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			s.StreamID, s.StreamType, archiveID, s.Version, s.Events, s.Checksum, s.FirstPosition, s.LastPosition, now, passed); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM events WHERE stream_id = $1`, s.StreamID); err != nil {
			return err
		}
		// Snapshots are a cache of the events; a restore replays.
		if _, err := tx.Exec(ctx, `DELETE FROM snapshots WHERE stream_id = $1`, s.StreamID); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, reason, err
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	ArchiveID string
	Restored  []string // streams put back
	Skipped   []string // not archived by this archive (already restored, or skipped when archiving)
	Events    int64
}

// Restore verifies the archive id (a directory under Config.Dir, or a path)
// and puts its archived streams back into the store with their original
// positions, transaction ids and metadata. Streams not currently archived by
// this archive are skipped, so a restore can be rerun.
func (a *Archiver) Restore(ctx context.Context, id string, progress func(Progress)) (RestoreResult, error) {
	return a.RestoreWith(ctx, id, RestoreOptions{}, progress)
}

// RestoreOptions adjusts RestoreWith.
type RestoreOptions struct {
	// IgnoreReaders restores even below readers that passed the events'
	// place in the global log while they were archived (they will not see them).
	IgnoreReaders bool
}

// RestoreWith is Restore with options.
func (a *Archiver) RestoreWith(ctx context.Context, id string, opts RestoreOptions, progress func(Progress)) (RestoreResult, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	dir := a.dirOf(id)
	m, _, err := Verify(dir, progress)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore %s: %w", id, err)
	}
	if err := Migrate(ctx, a.pool); err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{ArchiveID: m.ID}
	byFile := map[string][]*StreamEntry{}
	for i := range m.Streams {
		s := &m.Streams[i]
		byFile[s.File] = append(byFile[s.File], s)
	}
	done := 0
	for _, f := range m.Files {
		recs := map[string][]*Record{}
		err := readFile(filepath.Join(dir, f.Name), func(r *Record) error {
			recs[r.StreamID] = append(recs[r.StreamID], r)
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("restore %s: %w", m.ID, err)
		}
		for _, s := range byFile[f.Name] {
			progress(Progress{Phase: "restore", Done: done, Total: len(m.Streams), Item: s.StreamID})
			done++
			ok, err := a.restoreStream(ctx, m, s, recs[s.StreamID], opts)
			if err != nil {
				return res, fmt.Errorf("restore %s: stream %s: %w", m.ID, s.StreamID, err)
			}
			if ok {
				res.Restored = append(res.Restored, s.StreamID)
				res.Events += s.Events
			} else {
				res.Skipped = append(res.Skipped, s.StreamID)
			}
		}
	}
	progress(Progress{Phase: "restore", Done: done, Total: len(m.Streams)})
	return res, nil
}

func (a *Archiver) dirOf(id string) string {
	if filepath.IsAbs(id) || filepath.Base(id) != id {
		return id
	}
	return filepath.Join(a.cfg.Dir, id)
}

func (a *Archiver) restoreStream(ctx context.Context, m *Manifest, s *StreamEntry, recs []*Record, opts RestoreOptions) (bool, error) {
	ok := false
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, streamLockKey, s.StreamID); err != nil {
			return err
		}
		var archID string
		var passedBy []string
		err := tx.QueryRow(ctx, `SELECT archive_id, passed_by FROM archived_streams WHERE stream_id = $1 FOR UPDATE`, s.StreamID).Scan(&archID, &passedBy)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && archID != m.ID) {
			return nil
		}
		if err != nil {
			return err
		}
		// Delete the record first: the append trigger refuses the stream's
		// events while it is there.
		if _, err := tx.Exec(ctx, `DELETE FROM archived_streams WHERE stream_id = $1`, s.StreamID); err != nil {
			return err
		}
		for _, sc := range m.Schemas {
			fp, err := hex.DecodeString(sc.Fingerprint)
			if err != nil {
				return fmt.Errorf("%w: schema fingerprint %q", ErrInvalidArchive, sc.Fingerprint)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO event_schemas (fingerprint, full_name, schema_json, created_at)
				VALUES ($1, $2, $3, now()) ON CONFLICT (fingerprint) DO NOTHING`, fp, sc.Name, sc.JSON); err != nil {
				return err
			}
		}
		n := len(recs)
		var (
			pos, ver            = make([]int64, n), make([]int64, n)
			txs, ids, types     = make([]string, n), make([]string, n), make([]string, n)
			fps, payloads       = make([][]byte, n), make([][]byte, n)
			corr, caus, usr, tp = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
			at                  = make([]time.Time, n)
		)
		for i, r := range recs {
			pos[i], ver[i], txs[i], ids[i], types[i] = r.Position, r.Version, strconv.FormatInt(r.TxID, 10), r.EventID, r.EventType
			fps[i], payloads[i] = r.SchemaFingerprint[:], r.Payload
			corr[i], caus[i], usr[i], tp[i], at[i] = r.CorrelationID, r.CausationID, r.UserID, r.TraceParent, r.RecordedAt
		}
		if _, err := tx.Exec(ctx, `INSERT INTO events (position, tx_id, stream_id, stream_type, version, event_id, event_type,
			schema_fingerprint, payload, correlation_id, causation_id, user_id, traceparent, recorded_at)
			OVERRIDING SYSTEM VALUE
			SELECT u.pos, u.tx::xid8, $1, $2, u.ver, u.id::uuid, u.typ, u.fp, u.pl, u.corr, u.caus, u.usr, u.tp, u.at
			  FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bytea[], $9::bytea[],
			              $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[])
			       AS u(pos, tx, ver, id, typ, fp, pl, corr, caus, usr, tp, at)`,
			s.StreamID, s.StreamType, pos, txs, ver, ids, types, fps, payloads, corr, caus, usr, tp, at); err != nil {
			return err
		}
		sums, err := StreamChecksums(ctx, tx, []string{s.StreamID})
		if err != nil {
			return err
		}
		if got := sums[s.StreamID]; got.Checksum != s.Checksum {
			return &ChecksumError{What: "restored stream " + s.StreamID, Want: s.Checksum, Got: got.Checksum}
		}
		if !opts.IgnoreReaders {
			past, err := readersPast(ctx, tx, s.StreamID, false)
			if err != nil {
				return err
			}
			var missed []string
			for _, r := range past {
				if !slices.Contains(passedBy, r) {
					missed = append(missed, r)
				}
			}
			if len(missed) > 0 {
				return fmt.Errorf("%w: %v passed the place of stream %s in the global log while it was archived and would never see its events (rewind them, or restore with --ignore-readers)",
					ErrBelowReaders, missed, s.StreamID)
			}
		}
		ok = true
		return nil
	})
	return ok, err
}

// Location is where an archived stream is.
type Location struct {
	Stream     string
	ArchiveID  string
	Version    int64
	Events     int64
	ArchivedAt time.Time
}

// Locate reports whether stream is archived and where.
func (a *Archiver) Locate(ctx context.Context, stream string) (Location, bool, error) {
	l := Location{Stream: stream}
	err := a.pool.QueryRow(ctx, `SELECT archive_id, version, events, archived_at FROM archived_streams WHERE stream_id = $1`, stream).
		Scan(&l.ArchiveID, &l.Version, &l.Events, &l.ArchivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		var pgErr interface{ SQLState() string }
		if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // no archived_streams table: nothing was ever archived
			return l, false, nil
		}
		return l, false, fmt.Errorf("locate %s: %w", stream, err)
	}
	return l, true, nil
}

// ReadStream reads up to limit events of stream with version >= from (limit
// <= 0: all). A live stream is read from the store; an archived one from its
// archive files when Config.ReadThrough is set, otherwise the error is an
// *ArchivedError (errors.Is ErrArchived).
func (a *Archiver) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	loc, archived, err := a.Locate(ctx, stream)
	if err != nil {
		return nil, err
	}
	if !archived {
		return a.store.ReadStream(ctx, stream, from, limit)
	}
	dir := a.dirOf(loc.ArchiveID)
	if !a.cfg.ReadThrough {
		return nil, fmt.Errorf("read stream: %w", &ArchivedError{Stream: stream, ArchiveID: loc.ArchiveID, Dir: dir})
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("read stream: %w", &ArchivedError{Stream: stream, ArchiveID: loc.ArchiveID, Dir: dir, Err: err})
	}
	entry, ok := m.Stream(stream)
	if !ok {
		return nil, fmt.Errorf("read stream: %w", &ArchivedError{Stream: stream, ArchiveID: loc.ArchiveID, Dir: dir,
			Err: fmt.Errorf("%w: the manifest does not list the stream", ErrInvalidArchive)})
	}
	var out []eventstore.RecordedEvent
	err = readFile(filepath.Join(dir, entry.File), func(r *Record) error {
		if r.StreamID != stream || r.Version < from || (limit > 0 && len(out) >= limit) {
			return nil
		}
		e, err := r.Event()
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stream: %w", &ArchivedError{Stream: stream, ArchiveID: loc.ArchiveID, Dir: dir, Err: err})
	}
	return out, nil
}

// List returns the archive ids under Config.Dir, oldest first.
func (a *Archiver) List() ([]string, error) {
	ents, err := os.ReadDir(a.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("archive list: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && filepath.Ext(e.Name()) != ".partial" {
			if _, err := os.Stat(filepath.Join(a.cfg.Dir, e.Name(), ManifestFile)); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// readersPast names the readers whose cursor is past stream's events in the
// global log (subscription checkpoints by name, relays as "relay:" + name):
// past its last event (all true), or past its first one.
func readersPast(ctx context.Context, tx pgx.Tx, stream string, all bool) ([]string, error) {
	var relays bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('messaging_relay_checkpoints') IS NOT NULL`).Scan(&relays); err != nil {
		return nil, fmt.Errorf("readers: %w", err)
	}
	order := "ASC"
	if all {
		order = "DESC"
	}
	q := `WITH e AS (SELECT tx_id, position FROM events WHERE stream_id = $1 ORDER BY tx_id ` + order + `, position ` + order + ` LIMIT 1)
SELECT c.name FROM checkpoints c, e WHERE (c.tx_id, c.position) >= (e.tx_id, e.position)`
	if relays {
		q += `
UNION ALL SELECT 'relay:' || r.name FROM messaging_relay_checkpoints r, e WHERE (r.tx_id::text::xid8, r.position) >= (e.tx_id, e.position)`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY 1`, stream)
	if err != nil {
		return nil, fmt.Errorf("readers: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("readers: %w", err)
	}
	return names, nil
}
