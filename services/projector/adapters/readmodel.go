package adapters

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/services/projector/app/query"
)

// ReadModel answers queries from read.order_summaries.
type ReadModel struct {
	pool   *pgxpool.Pool
	runner *projection.Runner
}

var _ query.ReadModel = (*ReadModel)(nil)

// NewReadModel returns the read model; runner must include OrderSummaries
// (position tokens are checked against it).
func NewReadModel(pool *pgxpool.Pool, runner *projection.Runner) *ReadModel {
	return &ReadModel{pool: pool, runner: runner}
}

const summaryColumns = `order_id, customer_id, status, total_amount, currency, item_count, placed_at, last_updated, version`

func scanSummary(row pgx.Row) (query.Summary, error) {
	var s query.Summary
	err := row.Scan(&s.OrderID, &s.CustomerID, &s.Status, &s.Total, &s.Currency, &s.ItemCount, &s.PlacedAt, &s.LastUpdated, &s.Version)
	return s, err
}

// Summary implements query.ReadModel.
func (m *ReadModel) Summary(ctx context.Context, orderID string) (query.Summary, error) {
	s, err := scanSummary(m.pool.QueryRow(ctx, `SELECT `+summaryColumns+` FROM read.order_summaries WHERE order_id = $1`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return query.Summary{}, query.ErrNotFound
	}
	if err != nil {
		return query.Summary{}, fmt.Errorf("read summary: %w", err)
	}
	return s, nil
}

// List implements query.ReadModel: newest first, keyset-paginated on
// (placed_at, order_id).
func (m *ReadModel) List(ctx context.Context, f query.ListFilter) ([]query.Summary, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = "+arg(f.CustomerID))
	}
	if f.After != nil {
		where = append(where, "(placed_at, order_id) < ("+arg(f.After.PlacedAt)+", "+arg(f.After.OrderID)+")")
	}
	sql := `SELECT ` + summaryColumns + ` FROM read.order_summaries`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY placed_at DESC, order_id DESC LIMIT " + arg(f.Limit)
	rows, err := m.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list summaries: %w", err)
	}
	defer rows.Close()
	var out []query.Summary
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			return nil, fmt.Errorf("list summaries: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// WaitFor implements query.ReadModel.
func (m *ReadModel) WaitFor(ctx context.Context, token string, timeout time.Duration) error {
	t, err := projection.ParseToken(token)
	if err != nil {
		return fmt.Errorf("%w: min_position: %w", query.ErrBadRequest, err)
	}
	err = m.runner.WaitFor(ctx, OrderSummariesName, t, timeout)
	if errors.Is(err, projection.ErrNotReached) {
		return fmt.Errorf("%w: %w", query.ErrNotReached, err)
	}
	return err
}
