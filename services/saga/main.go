// Command saga runs the order-fulfilment orchestrator: OrderPlaced starts a
// durable saga (payment, stock, confirmation; compensation on failure).
// Configuration: see service.FromEnv; operate it with strata saga.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/saga/service"
)

func main() {
	bootstrap.Main("saga", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, nil, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
