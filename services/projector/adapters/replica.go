package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/services/projector/app/query"
)

// ReplicaReads routes queries to a read replica (READ_DATABASE_URL) and, when
// the replica does not answer, either to the primary (Fallback) or fails
// with the replica's connection error (the gRPC port answers UNAVAILABLE).
//
// Read-your-writes holds against the replica: WaitFor polls the replica's
// copy of the projection's tracking table, so a query with a position token
// returns only once the replica has replayed the row at the token's version.
// Within one request (WithReadSession), every read goes to the database that
// answered the first one, so a token honoured on the primary is never
// followed by a read from a replica that is behind it.
type ReplicaReads struct {
	replica, primary query.ReadModel
	fallback         bool
	// RetryAfter: after the replica failed, requests go straight to the
	// primary for this long before the replica is tried again. Default 1s.
	RetryAfter time.Duration
	// OnRead, when set, is called once per read with "replica" or "primary"
	// and whether it was a fallback.
	OnRead func(source string, fallback bool)
	now    func() time.Time
	downAt atomic.Int64 // unix nanos of the last replica failure; 0: none
}

var _ query.ReadModel = (*ReplicaReads)(nil)

// NewReplicaReads reads from replica, falling back to primary when fallback is set.
func NewReplicaReads(replica, primary query.ReadModel, fallback bool) *ReplicaReads {
	return &ReplicaReads{replica: replica, primary: primary, fallback: fallback, RetryAfter: time.Second, now: time.Now}
}

type sessionKey struct{}

// readSession pins one request to one database.
type readSession struct {
	mu       sync.Mutex
	source   string // "", "replica" or "primary"
	fallback bool   // source is the primary because the replica failed
}

// WithReadSession returns a context whose reads through ReplicaReads all go
// to the same database (the first one that answers).
func WithReadSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionKey{}, &readSession{})
}

// ReplicaUnavailable reports whether err means the database did not answer
// (connection refused or lost, shutting down, starting up, cancelled by a
// recovery conflict), as opposed to a query that is wrong.
func ReplicaUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &ce), pgconn.SafeToRetry(err), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &pe):
		// 08: connection exception; 57: operator intervention (admin
		// shutdown, cannot connect now); 40001: canceled by recovery conflict.
		return len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "57" || pe.Code == "40001")
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// do runs f against the database the request is pinned to, or the replica
// (primary while it is known to be down), falling back when allowed.
func (r *ReplicaReads) do(ctx context.Context, f func(query.ReadModel) error) error {
	s, _ := ctx.Value(sessionKey{}).(*readSession)
	if s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch s.source {
		case "primary":
			r.read("primary", s.fallback)
			return f(r.primary)
		case "replica":
			r.read("replica", false)
			return f(r.replica)
		}
	}
	pin := func(src string) {
		if s != nil {
			s.source, s.fallback = src, src == "primary"
		}
	}
	if r.fallback {
		if d := r.downAt.Load(); d != 0 && r.now().Sub(time.Unix(0, d)) < r.RetryAfter {
			pin("primary")
			r.read("primary", true)
			return f(r.primary)
		}
	}
	err := f(r.replica)
	if !ReplicaUnavailable(err) || ctx.Err() != nil {
		r.downAt.Store(0)
		pin("replica")
		r.read("replica", false)
		return err
	}
	r.downAt.Store(r.now().UnixNano())
	if !r.fallback {
		r.read("replica", false)
		return fmt.Errorf("%w: read replica: %w", query.ErrUnavailable, err)
	}
	pin("primary")
	r.read("primary", true)
	return f(r.primary)
}

func (r *ReplicaReads) read(src string, fallback bool) {
	if r.OnRead != nil {
		r.OnRead(src, fallback)
	}
}

// Summary implements query.ReadModel.
func (r *ReplicaReads) Summary(ctx context.Context, orderID string) (s query.Summary, err error) {
	err = r.do(ctx, func(m query.ReadModel) error {
		s, err = m.Summary(ctx, orderID)
		return err
	})
	return s, err
}

// List implements query.ReadModel.
func (r *ReplicaReads) List(ctx context.Context, f query.ListFilter) (out []query.Summary, err error) {
	err = r.do(ctx, func(m query.ReadModel) error {
		out, err = m.List(ctx, f)
		return err
	})
	return out, err
}

// WaitFor implements query.ReadModel.
func (r *ReplicaReads) WaitFor(ctx context.Context, token string, timeout time.Duration) error {
	return r.do(ctx, func(m query.ReadModel) error { return m.WaitFor(ctx, token, timeout) })
}
