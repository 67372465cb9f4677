package runbook

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stratahq/strata/eventstore"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/shoptest"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	"github.com/stratahq/strata/tools/strata/cli"
)

// shop is the whole system in-process over the real stack
// (internal/shoptest): the order service (gRPC and its command consumer),
// the relay, the projector, payment, inventory and the saga orchestrator, on
// a throwaway database and topics with a prefix of their own. Each service
// has its own metrics registry.
type shop struct {
	prefix, brokers, registry, url string
	pool                           *pgxpool.Pool
	store                          *eventstore.Store
	orders                         orderv1.OrderServiceClient
	regs                           map[string]*prometheus.Registry
	gateway                        *payadapters.SimulatedGateway
	invFaults                      *invadapters.Faults
}

// run runs f until the test ends; an early stop fails the test.
func run(t *testing.T, name string, f func(context.Context) error) { shoptest.Run(t, name, f) }

func startShop(t *testing.T, payFaults payadapters.Faults, inv invadapters.Config) *shop {
	t.Helper()
	s := shoptest.Start(t, payFaults, inv)
	return &shop{prefix: s.Prefix, brokers: s.Brokers, registry: s.Registry, url: s.URL, pool: s.Pool, store: s.Store,
		orders: s.Orders, regs: s.Regs, gateway: s.Gateway, invFaults: s.InvFaults}
}

// strata runs the CLI in-process, as an operator would from a shell.
func strata(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	t.Logf("$ strata %s\n%s%s(exit %d)", strings.Join(args, " "), out.String(), errb.String(), code)
	return code, out.String() + errb.String()
}

// metric returns the value of the series of name whose labels include want
// (summed over matching series; counters, gauges, histogram counts).
func metric(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			sum += value(m)
		}
	}
	return sum
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
