package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/internal/testenv"
)

const thingSchema = `{"type":"record","name":"Thing","namespace":"test.archive","fields":[{"name":"n","type":"long"},{"name":"label","type":"string"}]}`

type thing struct {
	N     int64  `avro:"n"`
	Label string `avro:"label"`
}

// fixture is a store with three streams recorded on 2026-01-01:
// "closed-1" (last event test.archive.Closed), "open-1" (last test.archive.Opened)
// and "gone-1" (tombstoned).
type fixture struct {
	pool   *pgxpool.Pool
	store  *eventstore.Store
	schema eventstore.Schema
	avro   avro.Schema
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store, err := eventstore.New(pool, eventstore.Config{Clock: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := avro.ParseWithCache(thingSchema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := s.FingerprintUsing(avro.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pool: pool, store: store, avro: s}
	copy(f.schema.Fingerprint[:], fp)
	f.schema.Name, f.schema.JSON = "test.archive.Thing", thingSchema
	f.append(t, "closed-1", "test.archive.Opened", "test.archive.Changed", "test.archive.Closed")
	f.append(t, "open-1", "test.archive.Opened")
	f.append(t, "gone-1", "test.archive.Opened", "test.archive.Changed")
	if err := store.DeleteStream(ctx, "gone-1", eventstore.Any); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) append(t *testing.T, stream string, types ...string) {
	t.Helper()
	evs := make([]eventstore.EventData, len(types))
	for i, typ := range types {
		payload, err := avro.Marshal(f.avro, thing{N: int64(i + 1), Label: stream + "/" + typ})
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: typ, Schema: f.schema, Payload: payload,
			Metadata: eventstore.Metadata{CorrelationID: "corr-" + stream, CausationID: "cmd-" + stream, UserID: "u1",
				TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	}
	if _, err := f.store.Append(context.Background(), stream, "thing", eventstore.Any, evs...); err != nil {
		t.Fatal(err)
	}
}

// checkpointAtHead saves a subscription checkpoint after every event.
func (f *fixture) checkpointAtHead(t *testing.T) {
	t.Helper()
	// The global log is read below the horizon of in-flight transactions, and
	// that horizon is conservative: a transaction of another database (other
	// test packages run beside this one) that ends while the horizon is
	// computed holds readers back for a moment. Wait for the fixture's six
	// events instead of expecting them on the first read.
	var evs []eventstore.RecordedEvent
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		evs, err = f.store.ReadAll(context.Background(), eventstore.Start, 0)
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		if len(evs) >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(evs) != 6 {
		t.Fatalf("read all: %d events, want the fixture's 6", len(evs))
	}
	if err := f.store.SaveCheckpoint(context.Background(), "test-sub", evs[len(evs)-1].Cursor()); err != nil {
		t.Fatal(err)
	}
}

var policy = archive.Policy{Before: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), ClosedTypes: []string{"test.archive.Closed"}}

func TestArchiveRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.checkpointAtHead(t)
	before, err := archive.StreamChecksums(ctx, f.pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantClosed, err := f.store.ReadStream(ctx, "closed-1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, err := archive.New(f.store, archive.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}

	dry := policy
	dry.DryRun = true
	m, err := a.Archive(ctx, dry, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "" || len(m.Streams) != 2 {
		t.Fatalf("dry run: id %q, streams %+v; want 2 streams, nothing written", m.ID, m.Streams)
	}

	var phases []string
	m, err = a.Archive(ctx, policy, func(p archive.Progress) { phases = append(phases, p.Phase) })
	if err != nil {
		t.Fatal(err)
	}
	if got := streamIDs(m); strings.Join(got, ",") != "closed-1,gone-1" {
		t.Fatalf("archived streams %v, want closed-1 and gone-1 (open-1 is not closed)", got)
	}
	for _, s := range m.Streams {
		if s.Status != archive.StatusArchived || s.Checksum != before[s.StreamID].Checksum {
			t.Fatalf("stream entry %+v; checksum before %s", s, before[s.StreamID].Checksum)
		}
	}
	if m.Events != 5 || len(m.Files) != 1 || len(m.Schemas) != 1 {
		t.Fatalf("manifest: %d events, %d files, %d schemas", m.Events, len(m.Files), len(m.Schemas))
	}
	if !strings.Contains(strings.Join(phases, " "), "delete") {
		t.Fatalf("no delete progress: %v", phases)
	}

	// The events are gone from the store; the live stream is untouched.
	after, err := archive.StreamChecksums(ctx, f.pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after["closed-1"]; ok || after["open-1"] != before["open-1"] || len(after) != 1 {
		t.Fatalf("after archive the store holds %v", after)
	}

	// Reading: without read-through the error says where the stream went.
	_, err = a.ReadStream(ctx, "closed-1", 1, 0)
	var ae *archive.ArchivedError
	if !errors.Is(err, archive.ErrArchived) || !errors.As(err, &ae) || ae.ArchiveID != m.ID {
		t.Fatalf("ReadStream archived = %v, want *ArchivedError of %s", err, m.ID)
	}
	if !strings.Contains(err.Error(), "strata restore "+m.ID) {
		t.Fatalf("error does not say how to restore: %v", err)
	}
	// The store's own reads say so too (aggregate loads as well).
	_, err = f.store.ReadStream(ctx, "closed-1", 1, 0)
	var se *eventstore.StreamArchivedError
	if !errors.Is(err, eventstore.ErrStreamArchived) || !errors.Is(err, archive.ErrArchived) || !errors.As(err, &se) || se.ArchiveID != m.ID {
		t.Fatalf("store.ReadStream of an archived stream = %v", err)
	}
	if live, err := a.ReadStream(ctx, "open-1", 1, 0); err != nil || len(live) != 1 {
		t.Fatalf("live stream through the archiver: %d events, %v", len(live), err)
	}
	rt, err := archive.New(f.store, archive.Config{Dir: dir, ReadThrough: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rt.ReadStream(ctx, "closed-1", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read through from version 2: %d events", len(got))
	}
	for i, e := range got {
		w := wantClosed[i+1]
		w.RecordedAt, e.RecordedAt = w.RecordedAt.UTC(), e.RecordedAt.UTC()
		if !bytes.Equal(e.Payload, w.Payload) || e.ID != w.ID || e.Position != w.Position || e.TxID != w.TxID ||
			e.Metadata != w.Metadata || !e.RecordedAt.Equal(w.RecordedAt) || e.Type != w.Type || e.Fingerprint != w.Fingerprint {
			t.Fatalf("read through event %d:\n got %+v\nwant %+v", i, e, w)
		}
	}

	// Nothing left to archive; a second run selects nothing.
	if m2, err := a.Archive(ctx, policy, nil); err != nil || len(m2.Streams) != 0 {
		t.Fatalf("second run: %+v, %v", m2, err)
	}

	res, err := a.Restore(ctx, m.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Restored) != 2 || res.Events != 5 {
		t.Fatalf("restore: %+v", res)
	}
	restored, err := archive.StreamChecksums(ctx, f.pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != len(before) {
		t.Fatalf("after restore %d streams, before %d", len(restored), len(before))
	}
	for id, s := range before {
		if restored[id] != s {
			t.Fatalf("stream %s after restore %+v, before %+v", id, restored[id], s)
		}
	}
	if _, archived, err := a.Locate(ctx, "closed-1"); err != nil || archived {
		t.Fatalf("closed-1 still archived after restore: %v", err)
	}
	if evs, err := f.store.ReadStream(ctx, "closed-1", 1, 0); err != nil || len(evs) != 3 {
		t.Fatalf("store read after restore: %d, %v", len(evs), err)
	}
	// Rerunning the restore changes nothing.
	if res, err := a.Restore(ctx, m.ID, nil); err != nil || len(res.Restored) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("second restore: %+v, %v", res, err)
	}
}

func streamIDs(m *archive.Manifest) []string {
	var out []string
	for _, s := range m.Streams {
		out = append(out, s.StreamID)
	}
	return out
}

func TestArchiveRespectsCheckpoints(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// A checkpoint at the very start: no reader has passed any event.
	if err := f.store.SaveCheckpoint(ctx, "slow-sub", eventstore.Cursor{TxID: 1, Position: 0}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.New(f.store, archive.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Archive(ctx, policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Streams) != 0 {
		t.Fatalf("archived %v although a checkpoint has not passed them", streamIDs(m))
	}
	p := policy
	p.IgnoreCheckpoints = true
	if m, err = a.Archive(ctx, p, nil); err != nil || len(m.Streams) != 2 {
		t.Fatalf("IgnoreCheckpoints: %v, %v", m, err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.checkpointAtHead(t)
	dir := t.TempDir()
	a, err := archive.New(f.store, archive.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Archive(ctx, policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, m.ID, m.Files[0].Name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-20] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := archive.Verify(filepath.Join(dir, m.ID), nil); !errors.Is(err, archive.ErrChecksum) {
		t.Fatalf("Verify of a tampered file = %v, want ErrChecksum", err)
	}
	if _, err := a.Restore(ctx, m.ID, nil); !errors.Is(err, archive.ErrChecksum) {
		t.Fatalf("Restore of a tampered archive = %v, want ErrChecksum", err)
	}
	// Nothing was restored.
	if _, archived, _ := a.Locate(ctx, "closed-1"); !archived {
		t.Fatal("closed-1 restored from a tampered archive")
	}
}

// TestArchiveReadableByFastavro proves the container files are standard Avro:
// Python's fastavro reads the records, and decodes each payload with the
// writer schema the file's metadata carries; sha256sum-style SHA256SUMS
// matches.
func TestArchiveReadableByFastavro(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.checkpointAtHead(t)
	dir := t.TempDir()
	a, err := archive.New(f.store, archive.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Archive(ctx, policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	py := testenv.Python(t)
	script := `
import io, json, sys, hashlib, os
import fastavro
import avro.datafile, avro.io
d = sys.argv[1]
out = []
for line in open(os.path.join(d, "SHA256SUMS")):
    want, name = line.rstrip("\n").split("  ", 1)
    got = hashlib.sha256(open(os.path.join(d, name), "rb").read()).hexdigest()
    assert got == want, (name, got, want)
man = json.load(open(os.path.join(d, "manifest.json")))
for f in man["files"]:
    with open(os.path.join(d, f["name"]), "rb") as fh:
        r = fastavro.reader(fh)
        schemas = {s["fingerprint"]: fastavro.parse_schema(json.loads(s["schema"])) for s in json.loads(r.metadata["strata.schemas"])}
        for rec in r:
            body = fastavro.schemaless_reader(io.BytesIO(rec["payload"]), schemas[rec["schema_fingerprint"].hex()])
            out.append({"stream": rec["stream_id"], "version": rec["version"], "type": rec["event_type"],
                        "corr": rec["correlation_id"], "label": body["label"], "n": body["n"],
                        "at": rec["recorded_at"].isoformat()})
    # and the reference implementation (Apache avro) agrees on the count
    with open(os.path.join(d, f["name"]), "rb") as fh:
        n = sum(1 for _ in avro.datafile.DataFileReader(fh, avro.io.DatumReader()))
    assert n == f["events"], (n, f["events"])
print(json.dumps(out))
`
	cmd := exec.Command(py, "-c", script, filepath.Join(dir, m.ID))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var recs []struct {
		Stream, Type, Corr, Label, At string
		Version, N                    int64
	}
	if err := json.Unmarshal(outb, &recs); err != nil {
		t.Fatalf("python output %s: %v", outb, err)
	}
	if len(recs) != 5 {
		t.Fatalf("fastavro read %d records, want 5: %s", len(recs), outb)
	}
	r := recs[2]
	if r.Stream != "closed-1" || r.Version != 3 || r.Type != "test.archive.Closed" || r.Corr != "corr-closed-1" ||
		r.Label != "closed-1/test.archive.Closed" || r.N != 3 || !strings.HasPrefix(r.At, "2026-01-01T00:00:00.00") {
		t.Fatalf("fastavro record 3 = %+v", r)
	}
}
