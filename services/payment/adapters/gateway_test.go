package adapters_test

import (
	"testing"
	"time"

	"github.com/stratahq/strata/services/payment/adapters"
)

func TestFaultsFromEnv(t *testing.T) {
	env := map[string]string{"PAYMENT_DECLINE_CUSTOMERS": "a, b", "PAYMENT_FAIL_REFUNDS": "true", "PAYMENT_REPLY_DELAY": "1500ms", "PAYMENT_SLOW_CUSTOMERS": "s"}
	f, err := adapters.FaultsFromEnv(func(k string) string { return env[k] })
	if err != nil || len(f.DeclineCustomers) != 2 || !f.FailRefunds || f.ReplyDelay != 1500*time.Millisecond || len(f.SlowCustomers) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
	g := adapters.NewSimulatedGateway(f)
	if g.Delay("s") != 1500*time.Millisecond || g.Delay("x") != 0 {
		t.Fatal("delay not scoped to the slow customers")
	}
	env = map[string]string{"PAYMENT_FAIL_REFUNDS": "maybe", "PAYMENT_REPLY_DELAY": "-1s"}
	if _, err := adapters.FaultsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("bad values accepted")
	}
}
