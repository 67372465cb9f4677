package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stratahq/strata/eventstore"
)

// cart is the test aggregate: item quantities.
type cart struct {
	ID    string         `json:"id"`
	Items map[string]int `json:"items"`
	N     int            `json:"n"` // events applied
}

func applyCart(c cart, e any) (cart, error) {
	switch e := e.(type) {
	case itemAdded:
		c.Items[e.Item] += e.Qty
	case itemRemoved:
		delete(c.Items, e.Item)
	default:
		return c, fmt.Errorf("cart: unknown event %T", e)
	}
	c.N++
	return c, nil
}

// testCodec is a JSON codec standing in for Avro; it counts decodes and
// upcasts: shape 0 of ItemAdded stored the quantity as "count".
type testCodec struct{ decodes atomic.Int64 }

var addedSchemaV0 = testSchema("test.cart.ItemAdded", 0)

func (c *testCodec) Encode(v any) (eventstore.Schema, []byte, error) {
	b, err := json.Marshal(v)
	switch v.(type) {
	case itemAdded:
		return addedSchema, b, err
	case itemRemoved:
		return removedSchema, b, err
	}
	return eventstore.Schema{}, nil, fmt.Errorf("test codec: unknown event %T", v)
}

func (c *testCodec) Decode(eventType string, writer eventstore.Schema, payload []byte) (any, error) {
	c.decodes.Add(1)
	switch {
	case eventType == addedSchema.Name && writer.Fingerprint == addedSchemaV0.Fingerprint:
		var old struct {
			Item  string `json:"item"`
			Count int    `json:"count"`
		}
		err := json.Unmarshal(payload, &old)
		return itemAdded{Item: old.Item, Qty: old.Count}, err
	case eventType == addedSchema.Name && writer.Fingerprint == addedSchema.Fingerprint:
		var e itemAdded
		err := json.Unmarshal(payload, &e)
		return e, err
	case eventType == removedSchema.Name:
		var e itemRemoved
		err := json.Unmarshal(payload, &e)
		return e, err
	}
	return nil, fmt.Errorf("test codec: unknown event type %s (%s)", eventType, writer.Fingerprint)
}

func cartSnapshots(version int32) *eventstore.SnapshotCodec[cart] {
	return &eventstore.SnapshotCodec[cart]{
		Version: version,
		Encode:  func(c cart) ([]byte, error) { return json.Marshal(c) },
		Decode: func(b []byte) (cart, error) {
			var c cart
			err := json.Unmarshal(b, &c)
			return c, err
		},
	}
}

// repoIDs numbers the repositories' new events across the package's tests.
var repoIDs atomic.Int64

func newCarts(t *testing.T, s *eventstore.Store, codec *testCodec, snaps *eventstore.SnapshotCodec[cart], every int64) *eventstore.Repository[cart] {
	t.Helper()
	r, err := eventstore.NewRepository(s, eventstore.RepositoryConfig[cart]{
		StreamType:    "cart",
		Initial:       func(id string) cart { return cart{ID: id, Items: map[string]int{}} },
		Apply:         applyCart,
		Encoder:       codec,
		Decoder:       codec,
		Snapshots:     snaps,
		SnapshotEvery: every,
		NewEventID:    func() (uuid.UUID, error) { return seq(int(1_000_000 + repoIDs.Add(1))), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func addCmd(item string, qty int) eventstore.Command[cart] {
	return func(cart) ([]any, error) { return []any{itemAdded{Item: item, Qty: qty}}, nil }
}

func TestRepositorySnapshotPolicyAndShapes(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 60*time.Second)
	codec := &testCodec{}
	carts := newCarts(t, s, codec, cartSnapshots(1), 10)

	for i := range 25 {
		ex, err := carts.Execute(ctx, "cart-1", addCmd("apple", 1))
		if err != nil {
			t.Fatal(err)
		}
		if ex.Version != int64(i+1) || ex.SnapshotErr != nil {
			t.Fatalf("execute %d: version %d, snapshot err %v", i, ex.Version, ex.SnapshotErr)
		}
		// Loads start from the latest snapshot: at most 9 events are replayed.
		if ex.Replayed > 9 {
			t.Fatalf("execute %d replayed %d events", i, ex.Replayed)
		}
	}
	var snapVersion int64
	if err := s.Pool().QueryRow(ctx, "SELECT version FROM snapshots WHERE stream_id = 'cart-1'").Scan(&snapVersion); err != nil {
		t.Fatal(err)
	}
	if snapVersion != 20 {
		t.Fatalf("snapshot at version %d, want 20 (every 10)", snapVersion)
	}
	codec.decodes.Store(0)
	l, err := carts.Load(ctx, "cart-1")
	if err != nil {
		t.Fatal(err)
	}
	if l.FromSnapshot != 20 || l.Replayed != 5 || l.Version != 25 || l.State.Items["apple"] != 25 || l.State.N != 25 {
		t.Fatalf("load = %+v", l)
	}
	if codec.decodes.Load() != 5 {
		t.Fatalf("%d decodes, want 5 (only the tail goes through the hook)", codec.decodes.Load())
	}
	full, err := carts.Replay(ctx, "cart-1")
	if err != nil || full.Replayed != 25 || full.State.Items["apple"] != 25 || full.FromSnapshot != 0 {
		t.Fatalf("replay = %+v, %v", full, err)
	}

	// A repository whose snapshot shape is 2 ignores the shape-1 snapshot
	// (its JSON would decode "fine" into the wrong meaning) and replays.
	carts2 := newCarts(t, s, codec, &eventstore.SnapshotCodec[cart]{
		Version: 2,
		Encode:  func(c cart) ([]byte, error) { return json.Marshal(c) },
		Decode: func([]byte) (cart, error) {
			t.Error("a snapshot of another shape was decoded")
			return cart{}, errors.New("wrong shape")
		},
	}, 10)
	l2, err := carts2.Load(ctx, "cart-1")
	if err != nil || l2.FromSnapshot != 0 || l2.Replayed != 25 || l2.State.Items["apple"] != 25 {
		t.Fatalf("load with another shape = %+v, %v", l2, err)
	}
	// Its next snapshot (at 30) replaces the old shape.
	for range 5 {
		ex, err := carts2.Execute(ctx, "cart-1", addCmd("pear", 2))
		if err != nil || ex.SnapshotErr != nil {
			t.Fatal(err, ex.SnapshotErr)
		}
	}
	var shape int32
	if err := s.Pool().QueryRow(ctx, "SELECT version, state_version FROM snapshots WHERE stream_id = 'cart-1'").Scan(&snapVersion, &shape); err != nil {
		t.Fatal(err)
	}
	if snapVersion != 30 || shape != 2 {
		t.Fatalf("snapshot %d shape %d, want 30 shape 2", snapVersion, shape)
	}
	// A snapshot that cannot be decoded is ignored too (never trusted).
	if _, err := s.Pool().Exec(ctx, "UPDATE snapshots SET state = 'garbage', state_version = 1"); err != nil {
		t.Fatal(err)
	}
	l, err = carts.Load(ctx, "cart-1")
	if err != nil || l.FromSnapshot != 0 || l.Version != 30 || l.State.Items["pear"] != 10 {
		t.Fatalf("load past a corrupt snapshot = %+v, %v", l, err)
	}
}

func TestRepositoryUpcastsEveryRead(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	codec := &testCodec{}
	carts := newCarts(t, s, codec, nil, 0)
	// History written with the old shape (quantity as "count").
	old := eventstore.EventData{ID: seq(1), Type: addedSchemaV0.Name, Schema: addedSchemaV0, Payload: []byte(`{"item":"fig","count":7}`)}
	if _, err := s.Append(ctx, "cart-9", "cart", eventstore.NoStream, old); err != nil {
		t.Fatal(err)
	}
	if _, err := carts.Execute(ctx, "cart-9", addCmd("fig", 1)); err != nil {
		t.Fatal(err)
	}
	l, err := carts.Load(ctx, "cart-9")
	if err != nil || l.State.Items["fig"] != 8 || l.Version != 2 {
		t.Fatalf("load = %+v, %v", l, err)
	}
	// An event the decoder does not know is an error, never skipped.
	bad := testSchema("test.cart.Mystery", 1)
	if _, err := s.Append(ctx, "cart-9", "cart", eventstore.Exact(2), eventstore.EventData{ID: seq(3), Type: bad.Name, Schema: bad, Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	var de *eventstore.DecodeError
	if _, err := carts.Load(ctx, "cart-9"); !errors.As(err, &de) || !errors.Is(err, eventstore.ErrDecode) || de.Version != 3 {
		t.Fatalf("undecodable event: %v", err)
	}
}

func TestRepositoryConflictsRetriesAndIdempotentCommands(t *testing.T) {
	s := newStore(t, 8)
	ctx := ctxT(t, 30*time.Second)
	codec := &testCodec{}
	carts := newCarts(t, s, codec, cartSnapshots(1), 100)

	// A command that races with another writer fails with a conflict...
	racing := func(c cart) ([]any, error) {
		if c.N == 0 {
			if _, err := s.Append(context.Background(), "cart-2", "cart", eventstore.Any, ev(seq(50), itemAdded{Item: "x", Qty: 1})); err != nil {
				return nil, err
			}
		}
		return []any{itemAdded{Item: "y", Qty: 1}}, nil
	}
	_, err := carts.Execute(ctx, "cart-2", racing)
	var vc *eventstore.VersionConflictError
	if !errors.As(err, &vc) || vc.Expected != eventstore.Exact(0) || vc.Actual != 1 {
		t.Fatalf("racing command: %v", err)
	}
	// ...and succeeds when allowed to reload and retry.
	calls := 0
	flaky := func(c cart) ([]any, error) {
		calls++
		if calls == 1 {
			if _, err := s.Append(context.Background(), "cart-2", "cart", eventstore.Any, ev(seq(51), itemAdded{Item: "x", Qty: 1})); err != nil {
				return nil, err
			}
		}
		return []any{itemAdded{Item: "y", Qty: 1}}, nil
	}
	ex, err := carts.Execute(ctx, "cart-2", flaky, eventstore.WithConflictRetries(2))
	if err != nil || calls != 2 || ex.Version != 3 || ex.State.Items["x"] != 2 || ex.State.Items["y"] != 1 {
		t.Fatalf("retried command: %+v, calls %d, %v", ex, calls, err)
	}

	// The same command (same event ids) run twice appends once.
	ids := func(i int) uuid.UUID { return seq(7000 + i) }
	md := eventstore.Metadata{CorrelationID: "cmd-1", CausationID: "cmd-1", UserID: "alice"}
	first, err := carts.Execute(ctx, "cart-3", addCmd("kiwi", 3), eventstore.WithEventIDs(ids), eventstore.WithMetadata(md))
	if err != nil || first.Append.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	// The retry loads version 1, so its command decides again; the store sees the same ids.
	second, err := carts.Execute(ctx, "cart-3", addCmd("kiwi", 3), eventstore.WithEventIDs(ids), eventstore.WithMetadata(md))
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	if !second.Append.Replayed || second.Version != 1 || second.State.Items["kiwi"] != 3 || second.Append.Cursor() != first.Append.Cursor() {
		t.Fatalf("second: %+v", second)
	}
	evs, _ := s.ReadStream(ctx, "cart-3", 1, 0)
	if len(evs) != 1 || evs[0].Metadata != md {
		t.Fatalf("stream cart-3: %+v", evs)
	}

	// Commands that decide nothing append nothing; command errors pass through.
	none, err := carts.Execute(ctx, "cart-3", func(cart) ([]any, error) { return nil, nil })
	if err != nil || none.Version != 1 || len(none.Append.Events) != 0 {
		t.Fatalf("no-op: %+v %v", none, err)
	}
	errNo := errors.New("refused")
	if _, err := carts.Execute(ctx, "cart-3", func(cart) ([]any, error) { return nil, errNo }); !errors.Is(err, errNo) {
		t.Fatalf("command error: %v", err)
	}
}

func TestRepositoryTruncatedAndDeletedStreams(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 30*time.Second)
	carts := newCarts(t, s, &testCodec{}, cartSnapshots(1), 5)
	for range 7 {
		if _, err := carts.Execute(ctx, "cart-4", addCmd("plum", 1)); err != nil {
			t.Fatal(err)
		}
	}
	// Truncate up to the snapshot: the load is unchanged (snapshot 5 + 6..7).
	if err := s.TruncateStream(ctx, "cart-4", 6); err != nil {
		t.Fatal(err)
	}
	l, err := carts.Load(ctx, "cart-4")
	if err != nil || l.State.Items["plum"] != 7 || l.FromSnapshot != 5 || l.Version != 7 {
		t.Fatalf("load after truncate: %+v %v", l, err)
	}
	if err := s.DeleteStream(ctx, "cart-4", eventstore.Exact(7)); err != nil {
		t.Fatal(err)
	}
	if _, err := carts.Load(ctx, "cart-4"); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("load deleted: %v", err)
	}
	if _, err := carts.Execute(ctx, "cart-4", addCmd("plum", 1)); !errors.Is(err, eventstore.ErrStreamDeleted) {
		t.Fatalf("execute on deleted: %v", err)
	}
	// A new aggregate starts at version 0 with the initial state.
	l, err = carts.Load(ctx, "cart-new")
	if err != nil || l.Version != 0 || l.State.ID != "cart-new" {
		t.Fatalf("new aggregate: %+v %v", l, err)
	}
	if _, err := eventstore.NewRepository(s, eventstore.RepositoryConfig[cart]{}); !errors.Is(err, eventstore.ErrInvalidArgument) {
		t.Fatalf("empty config: %v", err)
	}
}
