package eventstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stratahq/strata/eventstore"
)

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	pool := newPool(t, 8)
	ctx := ctxT(t, 30*time.Second)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			res, err := eventstore.Migrate(ctx, pool)
			if err == nil && len(res.Applied) != 0 {
				err = errors.New("applied again: " + res.Applied[0])
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ms, err := eventstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM eventstore_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("eventstore_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestAppendExpectedVersionModes(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	next := seqFrom(0)

	type step struct {
		name     string
		expected eventstore.Expected
		n        int
		wantErr  bool
		actual   int64 // on conflict
		wantLast int64
	}
	steps := []step{
		{"stream exists on a new stream", eventstore.StreamExists, 1, true, 0, 0},
		{"exact 3 on a new stream", eventstore.Exact(3), 1, true, 0, 0},
		{"no stream on a new stream", eventstore.NoStream, 2, false, 0, 2},
		{"no stream on an existing stream", eventstore.NoStream, 1, true, 2, 0},
		{"exact 0 on an existing stream", eventstore.Exact(0), 1, true, 2, 0},
		{"exact stale", eventstore.Exact(1), 1, true, 2, 0},
		{"exact ahead", eventstore.Exact(5), 1, true, 2, 0},
		{"exact current", eventstore.Exact(2), 3, false, 0, 5},
		{"stream exists", eventstore.StreamExists, 1, false, 0, 6},
		{"any", eventstore.Any, 2, false, 0, 8},
	}
	for _, st := range steps {
		res, err := s.Append(ctx, "cart-1", "cart", st.expected, adds(next, st.n)...)
		if st.wantErr {
			var vc *eventstore.VersionConflictError
			if !errors.As(err, &vc) || !errors.Is(err, eventstore.ErrVersionConflict) {
				t.Fatalf("%s: err = %v, want a version conflict", st.name, err)
			}
			if vc.Actual != st.actual || vc.Expected != st.expected || vc.Stream != "cart-1" {
				t.Fatalf("%s: conflict %+v, want actual %d", st.name, vc, st.actual)
			}
			if !eventstore.IsRetryable(err) {
				t.Fatalf("%s: conflict not retryable", st.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.LastVersion() != st.wantLast || len(res.Events) != st.n || res.Replayed {
			t.Fatalf("%s: result %+v, want last version %d", st.name, res, st.wantLast)
		}
		for i := 1; i < len(res.Events); i++ {
			if res.Events[i].Version != res.Events[i-1].Version+1 || res.Events[i].Position <= res.Events[i-1].Position {
				t.Fatalf("%s: events not consecutive: %+v", st.name, res.Events)
			}
		}
	}
	// Any and exact 0 on another new stream both create it.
	if _, err := s.Append(ctx, "cart-2", "cart", eventstore.Any, adds(next, 1)...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "cart-3", "cart", eventstore.Exact(0), adds(next, 1)...); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stream(ctx, "cart-1")
	if err != nil || info.Version != 8 || info.Type != "cart" {
		t.Fatalf("stream info %+v, %v", info, err)
	}
	// A different stream type is refused.
	if _, err := s.Append(ctx, "cart-1", "order", eventstore.Any, adds(next, 1)...); !errors.Is(err, eventstore.ErrStreamTypeMismatch) {
		t.Fatalf("type mismatch: %v", err)
	}
}

func TestAppendInvalidArguments(t *testing.T) {
	s := newStore(t, 2)
	ctx := ctxT(t, 10*time.Second)
	e := adds(seqFrom(0), 1)[0]
	noFP := e
	noFP.Schema.Fingerprint = eventstore.Fingerprint{}
	cases := map[string]func() error{
		"no events":        func() error { _, err := s.Append(ctx, "a", "cart", eventstore.Any); return err },
		"empty stream":     func() error { _, err := s.Append(ctx, "", "cart", eventstore.Any, e); return err },
		"repeated id":      func() error { _, err := s.Append(ctx, "a", "cart", eventstore.Any, e, e); return err },
		"zero fingerprint": func() error { _, err := s.Append(ctx, "a", "cart", eventstore.Any, noFP); return err },
		"bad expected":     func() error { _, err := s.Append(ctx, "a", "cart", eventstore.Expected(-9), e); return err },
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, eventstore.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
}

func TestAppendIsIdempotentForTheSameEventIDs(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	batch := adds(seqFrom(100), 3)
	first, err := s.Append(ctx, "cart-1", "cart", eventstore.NoStream, batch...)
	if err != nil {
		t.Fatal(err)
	}
	// The same command retried, with the same (now stale) expected version.
	again, err := s.Append(ctx, "cart-1", "cart", eventstore.NoStream, batch...)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !again.Replayed || again.TxID != first.TxID || len(again.Events) != 3 {
		t.Fatalf("retry result %+v, want a replay of %+v", again, first)
	}
	for i := range first.Events {
		if again.Events[i] != first.Events[i] {
			t.Fatalf("retry event %d = %+v, want %+v", i, again.Events[i], first.Events[i])
		}
	}
	info, _ := s.Stream(ctx, "cart-1")
	if info.Version != 3 {
		t.Fatalf("version %d after retry, want 3", info.Version)
	}
	// Some ids reused with new ones, or the same ids on another stream: refused.
	mixed := append([]eventstore.EventData{batch[0]}, adds(seqFrom(200), 1)...)
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.Any, mixed...); !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("mixed retry: %v, want ErrDuplicateEvent", err)
	}
	if _, err := s.Append(ctx, "cart-2", "cart", eventstore.Any, batch...); !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("other stream: %v, want ErrDuplicateEvent", err)
	}
	// A later id already stored (not the first): the unique index refuses it.
	late := append(adds(seqFrom(300), 1), batch[2])
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.Any, late...); !errors.Is(err, eventstore.ErrDuplicateEvent) {
		t.Fatalf("late duplicate: %v, want ErrDuplicateEvent", err)
	}
	info, _ = s.Stream(ctx, "cart-1")
	if info.Version != 3 {
		t.Fatalf("version %d after refused appends, want 3", info.Version)
	}
}

func TestReadsMetadataTombstoneAndTruncate(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	next := seqFrom(0)
	batch := adds(next, 10)
	batch[0].Metadata = eventstore.Metadata{CorrelationID: "corr", CausationID: "cause", UserID: "u1", TraceParent: "00-abc-def-01"}
	batch[9] = ev(next(), itemRemoved{Item: "i0"})
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.NoStream, batch...); err != nil {
		t.Fatal(err)
	}
	fwd, err := s.ReadStream(ctx, "cart-1", 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(fwd) != 3 || fwd[0].Version != 4 || fwd[2].Version != 6 {
		t.Fatalf("forward from 4: %d events, first %d", len(fwd), fwd[0].Version)
	}
	all, _ := s.ReadStream(ctx, "cart-1", 0, 0)
	if len(all) != 10 || all[0].Metadata != batch[0].Metadata || all[1].Metadata != (eventstore.Metadata{}) {
		t.Fatalf("metadata round trip: %+v / %+v", all[0].Metadata, all[1].Metadata)
	}
	if all[9].Type != "test.cart.ItemRemoved" || all[9].Fingerprint != removedSchema.Fingerprint || all[0].ID != batch[0].ID {
		t.Fatalf("event 10 = %+v", all[9])
	}
	if !all[0].RecordedAt.Equal(all[9].RecordedAt) || all[0].RecordedAt.Year() != 2026 {
		t.Fatalf("recorded_at from the injected clock: %v", all[0].RecordedAt)
	}
	back, err := s.ReadStreamBackward(ctx, "cart-1", -1, 4)
	if err != nil || len(back) != 4 || back[0].Version != 10 || back[3].Version != 7 {
		t.Fatalf("backward: %v %+v", err, back)
	}
	back, _ = s.ReadStreamBackward(ctx, "cart-1", 5, 100)
	if len(back) != 5 || back[0].Version != 5 || back[4].Version != 1 {
		t.Fatalf("backward from 5: %d events", len(back))
	}
	if _, err := s.ReadStream(ctx, "nope", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}

	// Truncate before 6: versions 1..5 are hidden from stream reads.
	if err := s.TruncateStream(ctx, "cart-1", 6); err != nil {
		t.Fatal(err)
	}
	if err := s.TruncateStream(ctx, "cart-1", 3); err != nil { // never moves back
		t.Fatal(err)
	}
	fwd, _ = s.ReadStream(ctx, "cart-1", 1, 0)
	if len(fwd) != 5 || fwd[0].Version != 6 {
		t.Fatalf("after truncate: %d events from %d", len(fwd), fwd[0].Version)
	}
	back, _ = s.ReadStreamBackward(ctx, "cart-1", -1, 0)
	if len(back) != 5 || back[4].Version != 6 {
		t.Fatalf("backward after truncate: %d events", len(back))
	}
	readAllSettled(t, s, 10) // truncation leaves the global log whole
	// Appends continue after truncation.
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.Exact(10), adds(next, 1)...); err != nil {
		t.Fatal(err)
	}

	// Tombstone with a stale expected version: conflict; with the right one: deleted.
	if err := s.DeleteStream(ctx, "cart-1", eventstore.Exact(10)); !errors.Is(err, eventstore.ErrVersionConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.DeleteStream(ctx, "cart-1", eventstore.Exact(11)); err != nil {
		t.Fatal(err)
	}
	var del *eventstore.StreamDeletedError
	if _, err := s.ReadStream(ctx, "cart-1", 0, 0); !errors.As(err, &del) || !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("read deleted: %v", err)
	}
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.Any, adds(next, 1)...); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("append to deleted: %v", err)
	}
	if err := s.DeleteStream(ctx, "cart-1", eventstore.Any); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := s.DeleteStream(ctx, "nope", eventstore.Any); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	readAllSettled(t, s, 11) // so does a tombstone
}

func TestReadByTypeFromCursorAndTime(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	next := seqFrom(0)
	for i := range 5 {
		batch := []eventstore.EventData{ev(next(), itemAdded{Item: "x"}), ev(next(), itemRemoved{Item: "x"})}
		if _, err := s.Append(ctx, "cart-"+string(rune('a'+i)), "cart", eventstore.NoStream, batch...); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.ReadByType(ctx, []string{removedSchema.Name}, eventstore.Start, time.Time{}, 0)
	if err != nil || len(removed) != 5 {
		t.Fatalf("by type: %d events, %v", len(removed), err)
	}
	for _, e := range removed {
		if e.Type != removedSchema.Name {
			t.Fatalf("got type %s", e.Type)
		}
	}
	rest, _ := s.ReadByType(ctx, []string{removedSchema.Name}, removed[1].Cursor(), time.Time{}, 0)
	if len(rest) != 3 || rest[0].ID != removed[2].ID {
		t.Fatalf("by type after cursor: %d events", len(rest))
	}
	// The clock moves 1ms per call; appends 3..5 were recorded after append 2's time.
	since := removed[2].RecordedAt
	late, _ := s.ReadByType(ctx, []string{removedSchema.Name, addedSchema.Name}, eventstore.Start, since, 0)
	if len(late) != 6 {
		t.Fatalf("by type since %v: %d events, want 6", since, len(late))
	}
	if _, err := s.ReadByType(ctx, nil, eventstore.Start, time.Time{}, 0); !errors.Is(err, eventstore.ErrInvalidArgument) {
		t.Fatalf("no types: %v", err)
	}
}

func TestSchemasAreStoredAndRequired(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	e := adds(seqFrom(0), 1)[0]
	if _, err := s.Append(ctx, "cart-1", "cart", eventstore.Any, e); err != nil {
		t.Fatal(err)
	}
	// A second Store (another process) knows nothing in memory: the schema
	// comes from the table.
	s2, _ := eventstore.New(s.Pool(), eventstore.Config{})
	got, err := s2.Schema(ctx, addedSchema.Fingerprint)
	if err != nil || got != addedSchema {
		t.Fatalf("schema = %+v, %v", got, err)
	}
	// An event whose schema was never stored and carries no text is refused.
	unknown := testSchema("test.cart.Unknown", 9)
	unknown.JSON = ""
	bad := eventstore.EventData{ID: seq(999), Type: unknown.Name, Schema: unknown, Payload: []byte("{}")}
	if _, err := s2.Append(ctx, "cart-1", "cart", eventstore.Any, bad); !errors.Is(err, eventstore.ErrUnknownSchema) {
		t.Fatalf("unknown schema: %v", err)
	}
	// Registered up front, the text is no longer needed on events.
	if err := s2.RegisterSchema(ctx, testSchema("test.cart.Unknown", 9)); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Append(ctx, "cart-1", "cart", eventstore.Any, bad); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpoints(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 10*time.Second)
	if _, err := s.LoadCheckpoint(ctx, "relay"); !errors.Is(err, eventstore.ErrNoCheckpoint) {
		t.Fatalf("missing checkpoint: %v", err)
	}
	c := eventstore.Cursor{TxID: 1234, Position: 99}
	if err := s.SaveCheckpoint(ctx, "relay", c); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCheckpointTx(ctx, tx, "relay", eventstore.Cursor{TxID: 2000, Position: 5}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx) // the read model failed: the checkpoint stays
	got, err := s.LoadCheckpoint(ctx, "relay")
	if err != nil || got != c {
		t.Fatalf("checkpoint %v, %v; want %v", got, err, c)
	}
	parsed, err := eventstore.ParseCursor(c.String())
	if err != nil || parsed != c {
		t.Fatalf("cursor round trip %v %v", parsed, err)
	}
	if _, err := eventstore.ParseCursor("12"); !errors.Is(err, eventstore.ErrInvalidArgument) {
		t.Fatalf("bad cursor: %v", err)
	}
	if err := s.DeleteCheckpoint(ctx, "relay"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadCheckpoint(ctx, "relay"); !errors.Is(err, eventstore.ErrNoCheckpoint) {
		t.Fatalf("deleted checkpoint: %v", err)
	}
}
