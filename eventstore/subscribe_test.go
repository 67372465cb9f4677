package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/eventstore"
)

// A subscriber filtered by type that saves its checkpoint, stops, and resumes
// from the checkpoint sees each matching event once, catch-up then live.
func TestSubscribeByTypeResumesFromCheckpoint(t *testing.T) {
	s := newStore(t, 8)
	ctx := ctxT(t, 30*time.Second)
	next := seqFrom(0)
	appendPair := func(i int) {
		t.Helper()
		batch := []eventstore.EventData{ev(next(), itemAdded{Item: fmt.Sprint(i)}), ev(next(), itemRemoved{Item: fmt.Sprint(i)})}
		if _, err := s.Append(ctx, fmt.Sprintf("cart-%d", i), "cart", eventstore.NoStream, batch...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		appendPair(i)
	}
	run := func(want int) []string {
		t.Helper()
		from, err := s.LoadCheckpoint(ctx, "removed")
		if errors.Is(err, eventstore.ErrNoCheckpoint) {
			from = eventstore.Start
		} else if err != nil {
			t.Fatal(err)
		}
		subCtx, stop := context.WithCancel(ctx)
		defer stop()
		var items []string
		err = s.Subscribe(subCtx, eventstore.SubscribeOptions{From: from, Types: []string{removedSchema.Name}, BatchSize: 2},
			func(ctx context.Context, events []eventstore.RecordedEvent) error {
				for _, e := range events {
					if e.Type != removedSchema.Name {
						return fmt.Errorf("got type %s", e.Type)
					}
					items = append(items, e.StreamID)
				}
				if err := s.SaveCheckpoint(ctx, "removed", events[len(events)-1].Cursor()); err != nil {
					return err
				}
				if len(items) == want {
					stop()
				}
				return nil
			})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("subscribe: %v", err)
		}
		return items
	}
	if got := run(5); len(got) != 5 || got[0] != "cart-0" || got[4] != "cart-4" {
		t.Fatalf("first run: %v", got)
	}
	// Live: appends made while the second run is waiting.
	go func() {
		time.Sleep(200 * time.Millisecond)
		for i := 5; i < 8; i++ {
			appendPair(i)
		}
	}()
	if got := run(3); len(got) != 3 || got[0] != "cart-5" || got[2] != "cart-7" {
		t.Fatalf("resumed run: %v", got)
	}
}

func TestHandlerErrorStopsTheSubscription(t *testing.T) {
	s := newStore(t, 4)
	ctx := ctxT(t, 10*time.Second)
	if _, err := s.Append(ctx, "a", "cart", eventstore.Any, adds(seqFrom(0), 1)...); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Subscribe(ctx, eventstore.SubscribeOptions{}, func(context.Context, []eventstore.RecordedEvent) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("subscribe: %v", err)
	}
}

func TestIsRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&eventstore.VersionConflictError{Stream: "s", Expected: eventstore.Exact(1), Actual: 2}, true},
		{fmt.Errorf("execute: %w", &eventstore.VersionConflictError{}), true},
		{&pgconn.PgError{Code: "40001"}, true},
		{&pgconn.PgError{Code: "40P01"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&eventstore.StreamDeletedError{Stream: "s"}, false},
		{eventstore.ErrDuplicateEvent, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	}
	for _, c := range cases {
		if got := eventstore.IsRetryable(c.err); got != c.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
