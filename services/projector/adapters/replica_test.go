package adapters

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/services/projector/app/query"
)

// fakeRM answers as one database: down returns a connection error.
type fakeRM struct {
	name  string
	down  bool
	calls int
}

func (f *fakeRM) err() error {
	f.calls++
	if f.down {
		return &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
	}
	return nil
}
func (f *fakeRM) Summary(context.Context, string) (query.Summary, error) {
	return query.Summary{OrderID: f.name}, f.err()
}
func (f *fakeRM) List(context.Context, query.ListFilter) ([]query.Summary, error) {
	return []query.Summary{{OrderID: f.name}}, f.err()
}
func (f *fakeRM) WaitFor(context.Context, string, time.Duration) error { return f.err() }

func TestReplicaReads(t *testing.T) {
	rep, pri := &fakeRM{name: "replica"}, &fakeRM{name: "primary"}
	rr := NewReplicaReads(rep, pri, true)
	ctx := context.Background()
	if s, err := rr.Summary(ctx, "x"); err != nil || s.OrderID != "replica" {
		t.Fatalf("replica up: %v %v", s, err)
	}
	rep.down = true
	if s, err := rr.Summary(ctx, "x"); err != nil || s.OrderID != "primary" {
		t.Fatalf("replica down, fallback: %v %v", s, err)
	}
	// Within RetryAfter the replica is not asked again.
	n := rep.calls
	if s, _ := rr.Summary(ctx, "x"); s.OrderID != "primary" || rep.calls != n {
		t.Fatalf("breaker: %v, replica calls %d -> %d", s, n, rep.calls)
	}
	// A session pinned to the replica stays there even if it fails later;
	// one that fell back stays on the primary when the replica returns.
	rr.RetryAfter = 0
	rep.down = false
	sctx := WithReadSession(ctx)
	if err := rr.WaitFor(sctx, "t", time.Second); err != nil {
		t.Fatal(err)
	}
	rep.down = true
	if _, err := rr.Summary(sctx, "x"); err == nil {
		t.Fatal("a request pinned to the replica read the primary after waiting on the replica")
	}
	sctx = WithReadSession(ctx)
	if err := rr.WaitFor(sctx, "t", time.Second); err != nil {
		t.Fatal(err)
	}
	rep.down = false
	if s, _ := rr.Summary(sctx, "x"); s.OrderID != "primary" {
		t.Fatalf("a request that waited on the primary read %s", s.OrderID)
	}
	// Without fallback the replica's error comes back, as unavailable.
	rep.down = true
	strict := NewReplicaReads(rep, pri, false)
	_, err := strict.Summary(ctx, "x")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !ReplicaUnavailable(err) || !errors.Is(err, query.ErrUnavailable) {
		t.Fatalf("strict: %v", err)
	}
	if ReplicaUnavailable(query.ErrNotFound) || ReplicaUnavailable(&pgconn.PgError{Code: "42P01"}) {
		t.Fatal("not found / undefined table are not unavailability")
	}
}
