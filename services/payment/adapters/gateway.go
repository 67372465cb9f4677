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
type SimulatedGateway struct {
	mu sync.RWMutex
	f  Faults
}

var _ command.Gateway = (*SimulatedGateway)(nil)

// NewSimulatedGateway returns a gateway with the faults f.
func NewSimulatedGateway(f Faults) *SimulatedGateway { return &SimulatedGateway{f: f} }

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

// Authorize implements command.Gateway.
func (g *SimulatedGateway) Authorize(_ context.Context, _, customerID string, _ int64, _ string) (payment.GatewayAnswer, error) {
	if contains(g.faults().DeclineCustomers, customerID) {
		return payment.GatewayAnswer{Reason: "card declined (PAYMENT_DECLINE_CUSTOMERS)"}, nil
	}
	return payment.GatewayAnswer{Approved: true}, nil
}

// Refund implements command.Gateway.
func (g *SimulatedGateway) Refund(_ context.Context, _, orderID string) (payment.GatewayAnswer, error) {
	f := g.faults()
	if f.FailRefunds || contains(f.FailRefundOrders, orderID) {
		return payment.GatewayAnswer{Reason: "refund refused by the gateway (injected failure)"}, nil
	}
	return payment.GatewayAnswer{Approved: true}, nil
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
