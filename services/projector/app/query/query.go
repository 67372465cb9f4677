package query

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors the ports translate.
var (
	ErrNotFound   = errors.New("query: not found")
	ErrBadRequest = errors.New("query: bad request")
	// ErrNotReached: the read model did not reach the position token in time.
	ErrNotReached = errors.New("query: position not reached")
	// ErrUnavailable: the database the query must read (a read replica
	// without fallback) does not answer.
	ErrUnavailable = errors.New("query: read database unavailable")
)

// Summary is one row of order_summaries.
type Summary struct {
	OrderID     string
	CustomerID  string
	Status      string // PLACED, CONFIRMED, SHIPPED, CANCELLED
	Total       int64
	Currency    string
	ItemCount   int
	PlacedAt    time.Time
	LastUpdated time.Time
	Version     int64
}

// PageKey is the keyset position of a summary in newest-first order.
type PageKey struct {
	PlacedAt time.Time
	OrderID  string
}

// ListFilter selects summaries.
type ListFilter struct {
	Status     string // empty: any
	CustomerID string // empty: any
	Limit      int
	After      *PageKey // nil: first page
}

// ReadModel is what the queries read; adapters.ReadModel implements it.
type ReadModel interface {
	Summary(ctx context.Context, orderID string) (Summary, error) // ErrNotFound
	List(ctx context.Context, f ListFilter) ([]Summary, error)
	// WaitFor blocks until the read model applied the position token, at most
	// timeout; ErrNotReached after that, ErrBadRequest for a malformed token.
	WaitFor(ctx context.Context, token string, timeout time.Duration) error
}

// Config bounds the queries.
type Config struct {
	WaitTimeout     time.Duration // longest wait for a position token; default 5s
	DefaultPageSize int           // default 50
	MaxPageSize     int           // default 500
}

// Queries answers the query API.
type Queries struct {
	rm  ReadModel
	cfg Config
}

// New returns the queries over rm.
func New(rm ReadModel, cfg Config) *Queries {
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 5 * time.Second
	}
	if cfg.DefaultPageSize <= 0 {
		cfg.DefaultPageSize = 50
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 500
	}
	return &Queries{rm: rm, cfg: cfg}
}

func (q *Queries) wait(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return q.rm.WaitFor(ctx, token, q.cfg.WaitTimeout)
}

// GetOrderSummary returns one summary, after waiting for minPosition if given.
func (q *Queries) GetOrderSummary(ctx context.Context, orderID, minPosition string) (Summary, error) {
	if strings.TrimSpace(orderID) == "" {
		return Summary{}, fmt.Errorf("%w: order_id is empty", ErrBadRequest)
	}
	if err := q.wait(ctx, minPosition); err != nil {
		return Summary{}, fmt.Errorf("get order summary %s: %w", orderID, err)
	}
	s, err := q.rm.Summary(ctx, orderID)
	if err != nil {
		return Summary{}, fmt.Errorf("get order summary %s: %w", orderID, err)
	}
	return s, nil
}

// List is the request of ListOrders.
type List struct {
	Status, CustomerID string
	PageSize           int
	PageToken          string
	MinPosition        string
}

// ListOrders returns a page of summaries and the token of the next page
// ("" on the last page).
func (q *Queries) ListOrders(ctx context.Context, r List) ([]Summary, string, error) {
	if r.PageSize < 0 {
		return nil, "", fmt.Errorf("%w: page_size %d is negative", ErrBadRequest, r.PageSize)
	}
	size := r.PageSize
	if size == 0 {
		size = q.cfg.DefaultPageSize
	}
	size = min(size, q.cfg.MaxPageSize)
	f := ListFilter{Status: r.Status, CustomerID: r.CustomerID, Limit: size + 1}
	if r.PageToken != "" {
		k, err := DecodePageToken(r.PageToken)
		if err != nil {
			return nil, "", err
		}
		f.After = &k
	}
	if err := q.wait(ctx, r.MinPosition); err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	rows, err := q.rm.List(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		next = EncodePageToken(PageKey{PlacedAt: last.PlacedAt, OrderID: last.OrderID})
	}
	return rows, next, nil
}

// EncodePageToken writes a keyset position as an opaque token.
func EncodePageToken(k PageKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.PlacedAt.UnixMicro(), 10) + "/" + k.OrderID))
}

// DecodePageToken reads a token written by EncodePageToken.
func DecodePageToken(s string) (PageKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return PageKey{}, fmt.Errorf("%w: page_token: %v", ErrBadRequest, err)
	}
	us, id, ok := strings.Cut(string(raw), "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" {
		return PageKey{}, fmt.Errorf("%w: page_token is malformed", ErrBadRequest)
	}
	return PageKey{PlacedAt: time.UnixMicro(n).UTC(), OrderID: id}, nil
}
