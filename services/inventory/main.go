// Command inventory runs the inventory service: it consumes the fulfilment
// saga's stock commands from Kafka and keeps product stock and reservations
// in the event store. Configuration: see service.FromEnv.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/inventory/service"
)

func main() {
	bootstrap.Main("inventory", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, nil, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
