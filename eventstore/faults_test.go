package eventstore_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stratahq/strata/eventstore"
)

// Issue 14: appends through Repository count in the append metrics like
// Store.Append's.
func TestRepositoryAppendsAreObserved(t *testing.T) {
	var observed atomic.Int64
	clock := &fixedClock{}
	s, err := eventstore.New(newPool(t, 4), eventstore.Config{Clock: clock.Now,
		OnAppend: func(o eventstore.AppendObservation) {
			if o.StreamType == "cart" && o.Err == nil {
				observed.Add(int64(o.Events))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 30*time.Second)
	carts := newCarts(t, s, &testCodec{}, nil, 0)
	for range 3 {
		if _, err := carts.Execute(ctx, "cart-obs", addCmd("fig", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := observed.Load(); got != 3 {
		t.Fatalf("append observer saw %d repository events, want 3", got)
	}
}

// Issue 14: a snapshot that cannot be read (here: the table is gone) is an
// error, not a silent full replay.
func TestRepositorySnapshotReadErrorIsAnError(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	carts := newCarts(t, s, &testCodec{}, cartSnapshots(1), 2)
	for range 3 {
		if _, err := carts.Execute(ctx, "cart-snap-err", addCmd("kiwi", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, `ALTER TABLE snapshots RENAME TO snapshots_gone`); err != nil {
		t.Fatal(err)
	}
	l, err := carts.Load(ctx, "cart-snap-err")
	if err == nil {
		t.Fatalf("load with an unreadable snapshot table: no error, replayed %d events (state %v)", l.Replayed, l.State.Items)
	}
	if !strings.Contains(err.Error(), "snapshot") {
		t.Fatalf("load error does not name the snapshot: %v", err)
	}
}

// Issue 14: when the snapshot's shape changed and the stream is truncated,
// replaying from the truncation point would give a wrong state. The load
// folds from the start (truncated events stay stored), and refuses when
// they are gone.
func TestRepositoryTruncatedStreamNeedsAUsableSnapshot(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	v1 := newCarts(t, s, &testCodec{}, cartSnapshots(1), 5)
	for range 7 {
		if _, err := v1.Execute(ctx, "cart-shape", addCmd("pear", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TruncateStream(ctx, "cart-shape", 6); err != nil {
		t.Fatal(err)
	}
	v2 := newCarts(t, s, &testCodec{}, cartSnapshots(2), 5)
	l, err := v2.Load(ctx, "cart-shape")
	if err != nil || l.State.Items["pear"] != 7 || l.Version != 7 {
		t.Fatalf("load with a new snapshot shape of a truncated stream: pear=%d version %d, %v; want pear=7 at version 7", l.State.Items["pear"], l.Version, err)
	}
	if l, err := v1.Replay(ctx, "cart-shape"); err != nil || l.State.Items["pear"] != 7 {
		t.Fatalf("replay of a truncated stream: pear=%d, %v; want 7", l.State.Items["pear"], err)
	}
	if l, err := v1.Load(ctx, "cart-shape"); err != nil || l.State.Items["pear"] != 7 || l.FromSnapshot != 5 {
		t.Fatalf("load with the snapshot's shape: %+v %v", l, err)
	}
	// When the truncated events are gone, the load refuses.
	if _, err := s.Pool().Exec(ctx, `DELETE FROM events WHERE stream_id = 'cart-shape' AND version < 6`); err != nil {
		t.Fatal(err)
	}
	if l, err := v2.Load(ctx, "cart-shape"); !errors.Is(err, eventstore.ErrTruncated) {
		t.Fatalf("load without the truncated events nor a usable snapshot: pear=%d, %v; want ErrTruncated", l.State.Items["pear"], err)
	}
}

// Issue 14: an event larger than Config.MaxEventBytes (Kafka's
// message.max.bytes) is refused at append with a clear error.
func TestAppendRefusesOversizeEvents(t *testing.T) {
	clock := &fixedClock{}
	s, err := eventstore.New(newPool(t, 4), eventstore.Config{Clock: clock.Now, MaxEventBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 30*time.Second)
	small := ev(seq(1), itemAdded{Item: "ok", Qty: 1})
	big := ev(seq(2), itemAdded{Item: strings.Repeat("x", 2000), Qty: 1})
	_, err = s.Append(ctx, "cart-big", "cart", eventstore.Any, small, big)
	var tooLarge *eventstore.EventTooLargeError
	if !errors.As(err, &tooLarge) || !errors.Is(err, eventstore.ErrEventTooLarge) {
		t.Fatalf("append of a 2 kB event with a 1000 byte limit: %v", err)
	}
	if tooLarge.Index != 1 || tooLarge.Max != 1000 || tooLarge.Size <= 2000 {
		t.Fatalf("error detail: %+v", tooLarge)
	}
	if _, err := s.Stream(ctx, "cart-big"); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("refused batch left a stream: %v", err)
	}
	if _, err := s.Append(ctx, "cart-big", "cart", eventstore.Any, small); err != nil {
		t.Fatal(err)
	}
	// The default limit matches Kafka's default message.max.bytes.
	d, err := eventstore.New(s.Pool(), eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	huge := eventstore.EventData{ID: uuid.New(), Type: addedSchema.Name, Schema: addedSchema, Payload: make([]byte, 2<<20)}
	if _, err := d.Append(ctx, "cart-huge", "cart", eventstore.Any, huge); !errors.Is(err, eventstore.ErrEventTooLarge) {
		t.Fatalf("2 MiB event with the default limit: %v", err)
	}
}
