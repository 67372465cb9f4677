package adapters

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stratahq/strata/services/payment/app/command"
	"github.com/stratahq/strata/services/payment/domain/payment"
)

// Faults is the payment service's failure injection, for tests and the demo.
type Faults struct {
	// DeclineCustomers: authorisations for these customers are declined
	// (PAYMENT_DECLINE_CUSTOMERS, comma-separated).
	DeclineCustomers []string
	// FailRefunds makes every refund of a held amount fail (PAYMENT_FAIL_REFUNDS=true);
	// FailRefundOrders only those of these orders (PAYMENT_FAIL_REFUND_ORDERS).
	FailRefunds      bool
	FailRefundOrders []string
	// ReplyDelay delays the answer to an authorisation (PAYMENT_REPLY_DELAY, a
	// Go duration), for SlowCustomers only when that is set (PAYMENT_SLOW_CUSTOMERS).
	ReplyDelay    time.Duration
	SlowCustomers []string
}

// FaultsFromEnv reads Faults from the environment (getenv is os.Getenv in
// production), reporting every malformed variable at once.
func FaultsFromEnv(getenv func(string) string) (Faults, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	f := Faults{
		DeclineCustomers: list(getenv("PAYMENT_DECLINE_CUSTOMERS")),
		FailRefundOrders: list(getenv("PAYMENT_FAIL_REFUND_ORDERS")),
		SlowCustomers:    list(getenv("PAYMENT_SLOW_CUSTOMERS")),
	}
	switch v := strings.TrimSpace(getenv("PAYMENT_FAIL_REFUNDS")); v {
	case "", "false", "0":
	case "true", "1":
		f.FailRefunds = true
	default:
		errs = append(errs, fmt.Errorf("PAYMENT_FAIL_REFUNDS=%q: want true or false", v))
	}
	if v := strings.TrimSpace(getenv("PAYMENT_REPLY_DELAY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("PAYMENT_REPLY_DELAY=%q: want a duration such as 5s", v))
		}
		f.ReplyDelay = d
	}
	return f, errors.Join(errs...)
}

func list(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SimulatedGateway is an in-process card gateway that approves everything
// except what its Faults say. Its faults can be changed while it runs
// (SetFaults), e.g. by a test that "fixes the provider" before a retry.
//
// It keeps a ledger by idempotency key, as a real gateway does: one hold at
// most per key (a repeated authorisation gets the first answer), a hold is
// released once (by a refund or a void), and it counts what it did, so tests
// can check that every hold belongs to an authorised payment and that no
// cancelled order keeps one.
type SimulatedGateway struct {
	mu      sync.RWMutex
	f       Faults
	answers map[string]payment.GatewayAnswer // first authorisation answer per key
	held    map[string]int64                 // amount held per key
	stats   GatewayStats
}

// GatewayStats counts a gateway's work.
type GatewayStats struct {
	AuthorizeCalls, RefundCalls, VoidCalls int
	Holds                                  int   // holds placed (one per key at most)
	Released                               int   // holds given back (refund or void)
	Held                                   int   // holds still in place
	HeldAmount                             int64 // their total
}

var _ command.Gateway = (*SimulatedGateway)(nil)

// NewSimulatedGateway returns a gateway with the faults f.
func NewSimulatedGateway(f Faults) *SimulatedGateway {
	return &SimulatedGateway{f: f, answers: map[string]payment.GatewayAnswer{}, held: map[string]int64{}}
}

// SetFaults replaces the faults.
func (g *SimulatedGateway) SetFaults(f Faults) {
	g.mu.Lock()
	g.f = f
	g.mu.Unlock()
}

func (g *SimulatedGateway) faults() Faults {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.f
}

// Stats returns what the gateway did so far.
func (g *SimulatedGateway) Stats() GatewayStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	st := g.stats
	for _, a := range g.held {
		st.Held++
		st.HeldAmount += a
	}
	return st
}

// Holding returns the amount key holds.
func (g *SimulatedGateway) Holding(key string) int64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.held[key]
}

// Authorize implements command.Gateway.
func (g *SimulatedGateway) Authorize(_ context.Context, key, customerID string, amount int64, _ string) (payment.GatewayAnswer, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.AuthorizeCalls++
	if a, ok := g.answers[key]; ok {
		return a, nil // idempotent replay: no second hold
	}
	a := payment.GatewayAnswer{Approved: true}
	if contains(g.f.DeclineCustomers, customerID) {
		a = payment.GatewayAnswer{Reason: "card declined (PAYMENT_DECLINE_CUSTOMERS)"}
	}
	g.answers[key] = a
	if a.Approved {
		g.held[key] = amount
		g.stats.Holds++
	}
	return a, nil
}

// Refund implements command.Gateway.
func (g *SimulatedGateway) Refund(_ context.Context, key, orderID string) (payment.GatewayAnswer, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.RefundCalls++
	if g.f.FailRefunds || contains(g.f.FailRefundOrders, orderID) {
		return payment.GatewayAnswer{Reason: "refund refused by the gateway (injected failure)"}, nil
	}
	g.release(key)
	return payment.GatewayAnswer{Approved: true}, nil
}

// Void implements command.Gateway.
func (g *SimulatedGateway) Void(_ context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.VoidCalls++
	g.release(key)
	return nil
}

func (g *SimulatedGateway) release(key string) {
	if _, ok := g.held[key]; ok {
		delete(g.held, key)
		g.stats.Released++
	}
}

// Delay is the reply delay for a customer's authorisation.
func (g *SimulatedGateway) Delay(customerID string) time.Duration {
	f := g.faults()
	if len(f.SlowCustomers) > 0 && !contains(f.SlowCustomers, customerID) {
		return 0
	}
	return f.ReplyDelay
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
