package adapters_test

import (
	"testing"
	"time"

	"github.com/stratahq/strata/services/inventory/adapters"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"INVENTORY_OUT_OF_STOCK_PRODUCTS": " p-1, ,p-2", "INVENTORY_REPLY_DELAY": "2s", "INVENTORY_INITIAL_STOCK": "7"}
	c, err := adapters.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || len(c.OutOfStockProducts) != 2 || c.ReplyDelay != 2*time.Second || c.InitialStock != 7 {
		t.Fatalf("%+v %v", c, err)
	}
	f := adapters.NewFaults(c)
	if !f.OutOfStock("p-2") || f.OutOfStock("p-3") || f.Delay() != 2*time.Second {
		t.Fatal("faults do not follow the config")
	}
	d, err := adapters.ConfigFromEnv(func(string) string { return "" })
	if err != nil || d.InitialStock != 100000 {
		t.Fatalf("defaults %+v %v", d, err)
	}
	env = map[string]string{"INVENTORY_REPLY_DELAY": "soon", "INVENTORY_INITIAL_STOCK": "-1"}
	if _, err := adapters.ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("bad values accepted")
	}
}
