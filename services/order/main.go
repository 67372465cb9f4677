// Command order runs the order service (gRPC OrderService). Configuration:
// see service.FromEnv; flags override the listen addresses.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/order/service"
)

func main() {
	bootstrap.Main("order", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, &cfg.GRPCAddr, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
