// Command ledger serves the bank ledger example: accounts, deposits and
// withdrawals with an overdraft rule, on Strata.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/examples/ledger/service"
)

func main() {
	bootstrap.Main("ledger", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, &cfg.GRPCAddr, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
