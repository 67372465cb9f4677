package eventstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/internal/testenv"
)

// TestStandbyHorizonHoldsBackInFlight: a reader of the global log on a hot
// standby must not be handed an event while an older transaction is still in
// flight on the primary: when that one commits, its event sorts below the
// reader's cursor and is skipped for good. Issue 14.
func TestStandbyHorizonHoldsBackInFlight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary := testenv.NewPGCluster(t)
	pp, err := pgxpool.New(ctx, primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	if _, err := eventstore.Migrate(ctx, pp); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pp, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "s-0", "cart", eventstore.Any, ev(seq(1), itemAdded{Item: "a", Qty: 1})); err != nil {
		t.Fatal(err)
	}
	standby := primary.NewStandby(t)
	sp, err := pgxpool.New(ctx, standby.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	reader, err := eventstore.New(sp, eventstore.Config{NoNotify: true})
	if err != nil {
		t.Fatal(err)
	}

	// An older transaction writes an event and stays open...
	slow, err := pp.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx) //nolint:errcheck
	e := ev(seq(2), itemAdded{Item: "slow", Qty: 1})
	if _, err := slow.Exec(ctx, `INSERT INTO streams (stream_id, stream_type, version, created_at, updated_at) VALUES ('s-slow', 'cart', 1, now(), now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Exec(ctx, `INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_fingerprint, payload, recorded_at)
		VALUES ('s-slow', 'cart', 1, $1, $2, $3, $4, now())`, e.ID, e.Type, e.Schema.Fingerprint[:], e.Payload); err != nil {
		t.Fatal(err)
	}
	// ...while a younger one commits.
	if _, err := store.Append(ctx, "s-fast", "cart", eventstore.Any, ev(seq(3), itemAdded{Item: "fast", Qty: 1})); err != nil {
		t.Fatal(err)
	}
	// Wait until the standby has replayed the younger commit.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := sp.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = 's-fast'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby never replayed the append")
		}
		time.Sleep(50 * time.Millisecond)
	}
	evs, err := reader.ReadAll(ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range evs {
		if r.StreamID == "s-fast" {
			var h, xmin string
			_ = sp.QueryRow(ctx, `SELECT eventstore_horizon()::text, pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&h, &xmin)
			t.Fatalf("on the standby the global log handed out s-fast (tx %d) while the older transaction writing s-slow is in flight (horizon %s, snapshot xmin %s): "+
				"a reader continuing from it skips s-slow for good", r.TxID, h, xmin)
		}
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// After the commit both appear, the older first.
	deadline = time.Now().Add(30 * time.Second)
	for {
		evs, err = reader.ReadAll(ctx, eventstore.Start, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(evs) != 3 || evs[1].StreamID != "s-slow" || evs[2].StreamID != "s-fast" {
		t.Fatalf("standby's global log after the commit: %d events %v", len(evs), streamsOf(evs))
	}
}

func streamsOf(evs []eventstore.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.StreamID
	}
	return out
}
