package query

import (
	"context"
	"fmt"

	"github.com/stratahq/strata/services/order/app/command"
)

// OrderLoader loads an order from its stream; command.OrderStream satisfies it.
type OrderLoader interface {
	Load(ctx context.Context, id string) (*command.Loaded, error)
}

// GetOrder reads one order.
type GetOrder struct{ loader OrderLoader }

// NewGetOrder returns the use case.
func NewGetOrder(l OrderLoader) GetOrder { return GetOrder{loader: l} }

// Handle returns the order and its last position; order.ErrNotFound when unknown.
func (q GetOrder) Handle(ctx context.Context, id string) (*command.Loaded, error) {
	l, err := q.loader.Load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	return l, nil
}
