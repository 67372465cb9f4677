package archive_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/eventstore/archive"
)

// Issue 14: an append to an archived (not tombstoned) stream must not succeed
// silently: later reads would return only the new events.
func TestAppendToArchivedStreamIsRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.checkpointAtHead(t)
	a, err := archive.New(f.store, archive.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Archive(ctx, policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := eventstore.EventData{ID: uuid.New(), Type: "test.archive.Changed", Schema: f.schema, Payload: []byte{2, 0}}
	_, err = f.store.Append(ctx, "closed-1", "thing", eventstore.Any, e)
	var se *eventstore.StreamArchivedError
	if !errors.Is(err, eventstore.ErrStreamArchived) || !errors.As(err, &se) || se.ArchiveID != m.ID {
		t.Fatalf("append to an archived stream: %v, want *StreamArchivedError of %s", err, m.ID)
	}
	// After a restore the stream takes appends again.
	if _, err := a.Restore(ctx, m.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Append(ctx, "closed-1", "thing", eventstore.Exact(3), e); err != nil {
		t.Fatalf("append after restore: %v", err)
	}
}

// Issue 14: a restore puts events back with their original (tx_id, position):
// a reader that passed that point while they were archived would never see
// them. The restore is refused, naming the reader, unless forced.
func TestRestoreBelowAReaderThatMissedItIsRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.checkpointAtHead(t)
	a, err := archive.New(f.store, archive.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Archive(ctx, policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A new reader (say a projection rebuilt from the start) reads past the
	// archived events' place in the log while they are away.
	evs, err := f.store.ReadAll(ctx, eventstore.Start, 0)
	if err != nil || len(evs) == 0 {
		t.Fatalf("read all: %d, %v", len(evs), err)
	}
	if err := f.store.SaveCheckpoint(ctx, "rebuilt-projection", evs[len(evs)-1].Cursor()); err != nil {
		t.Fatal(err)
	}
	_, err = a.Restore(ctx, m.ID, nil)
	if !errors.Is(err, archive.ErrBelowReaders) || !strings.Contains(fmtErr(err), "rebuilt-projection") {
		t.Fatalf("restore below a reader that never saw the events: %v, want ErrBelowReaders naming rebuilt-projection", err)
	}
	// The reader that had passed them before the archive does not block it;
	// forcing accepts that rebuilt-projection will not see them.
	if res, err := a.RestoreWith(ctx, m.ID, archive.RestoreOptions{IgnoreReaders: true}, nil); err != nil || len(res.Restored) != 2 {
		t.Fatalf("forced restore: %+v, %v", res, err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
