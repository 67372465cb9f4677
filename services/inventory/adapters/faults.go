package adapters

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratahq/strata/services/inventory/app/command"
)

// Config is the inventory service's behaviour from the environment.
type Config struct {
	// OutOfStockProducts are treated as having no units
	// (INVENTORY_OUT_OF_STOCK_PRODUCTS, comma-separated).
	OutOfStockProducts []string
	// ReplyDelay delays every reservation's answer (INVENTORY_REPLY_DELAY).
	ReplyDelay time.Duration
	// InitialStock is received for a product the first time it is reserved
	// (INVENTORY_INITIAL_STOCK, default 100000; 0 disables).
	InitialStock int
}

// ConfigFromEnv reads Config, reporting every malformed variable at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	c := Config{InitialStock: 100000}
	for p := range strings.SplitSeq(getenv("INVENTORY_OUT_OF_STOCK_PRODUCTS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.OutOfStockProducts = append(c.OutOfStockProducts, p)
		}
	}
	if v := strings.TrimSpace(getenv("INVENTORY_REPLY_DELAY")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("INVENTORY_REPLY_DELAY=%q: want a duration such as 5s", v))
		}
		c.ReplyDelay = d
	}
	if v := strings.TrimSpace(getenv("INVENTORY_INITIAL_STOCK")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("INVENTORY_INITIAL_STOCK=%q: want a whole number >= 0", v))
		}
		c.InitialStock = n
	}
	return c, errors.Join(errs...)
}

// Faults implements command.Faults from a Config; it can be changed while
// the service runs (Set), e.g. by a test.
type Faults struct {
	mu  sync.RWMutex
	cfg Config
}

var _ command.Faults = (*Faults)(nil)

// NewFaults returns the faults of cfg.
func NewFaults(cfg Config) *Faults { return &Faults{cfg: cfg} }

// Set replaces the configuration.
func (f *Faults) Set(cfg Config) {
	f.mu.Lock()
	f.cfg = cfg
	f.mu.Unlock()
}

// OutOfStock implements command.Faults.
func (f *Faults) OutOfStock(productID string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.cfg.OutOfStockProducts {
		if p == productID {
			return true
		}
	}
	return false
}

// Delay implements command.Faults.
func (f *Faults) Delay() time.Duration {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cfg.ReplyDelay
}
