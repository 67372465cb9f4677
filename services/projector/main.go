// Command projector builds the shop's read models from Kafka and serves the
// OrderQueryService. Configuration: see service.FromEnv; flags -env-file.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/projector/service"
)

func main() {
	bootstrap.Main("projector", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, &cfg.GRPCAddr, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
