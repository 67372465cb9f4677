package adapters

import (
	"context"
	"fmt"
	"sync"

	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// StockCheck is an in-process stock check: products listed in OutOfStock are
// refused, Unavailable makes every check fail as if the inventory service were
// down. The real inventory service replaces it with the saga (issue 8).
type StockCheck struct {
	mu          sync.RWMutex
	outOfStock  map[string]bool
	unavailable bool
}

var _ command.StockChecker = (*StockCheck)(nil)

// NewStockCheck refuses the given product ids.
func NewStockCheck(outOfStock ...string) *StockCheck {
	s := &StockCheck{outOfStock: map[string]bool{}}
	for _, p := range outOfStock {
		s.outOfStock[p] = true
	}
	return s
}

// SetUnavailable switches the simulated outage on or off.
func (s *StockCheck) SetUnavailable(v bool) { s.mu.Lock(); s.unavailable = v; s.mu.Unlock() }

// CheckStock implements command.StockChecker.
func (s *StockCheck) CheckStock(_ context.Context, items []order.Item) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.unavailable {
		return fmt.Errorf("stock check: %w", command.ErrUnavailable)
	}
	for _, it := range items {
		if s.outOfStock[it.ProductID] {
			return &command.RejectedError{Check: "stock", Subject: it.ProductID, Reason: "out of stock"}
		}
	}
	return nil
}

// CreditCheck is an in-process customer credit check: an order whose total
// exceeds Limit (in minor units; 0 = no limit) or whose customer is blocked
// is refused.
type CreditCheck struct {
	mu          sync.RWMutex
	limit       int64
	blocked     map[string]bool
	unavailable bool
}

var _ command.CreditChecker = (*CreditCheck)(nil)

// NewCreditCheck refuses totals above limit (0: none) and the blocked customers.
func NewCreditCheck(limit int64, blocked ...string) *CreditCheck {
	c := &CreditCheck{limit: limit, blocked: map[string]bool{}}
	for _, b := range blocked {
		c.blocked[b] = true
	}
	return c
}

// SetUnavailable switches the simulated outage on or off.
func (c *CreditCheck) SetUnavailable(v bool) { c.mu.Lock(); c.unavailable = v; c.mu.Unlock() }

// CheckCredit implements command.CreditChecker.
func (c *CreditCheck) CheckCredit(_ context.Context, customerID string, amount int64, currency string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.unavailable {
		return fmt.Errorf("credit check: %w", command.ErrUnavailable)
	}
	if c.blocked[customerID] {
		return &command.RejectedError{Check: "credit", Subject: customerID, Reason: "customer is blocked"}
	}
	if c.limit > 0 && amount > c.limit {
		return &command.RejectedError{Check: "credit", Subject: customerID, Reason: fmt.Sprintf("total %d %s exceeds the credit limit %d", amount, currency, c.limit)}
	}
	return nil
}
