// Command payment runs the payment service: it consumes the fulfilment
// saga's payment commands from Kafka and records payments in the event
// store. Configuration: see service.FromEnv.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/payment/service"
)

func main() {
	bootstrap.Main("payment", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, nil, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
