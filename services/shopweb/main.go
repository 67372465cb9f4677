// Command shopweb serves the shop's web front: place, confirm, ship and
// cancel orders and watch their status as the saga runs. Configuration: see
// service.FromEnv; flags -http-addr and -env-file.
package main

import (
	"flag"
	"log/slog"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/shopweb/service"
)

func main() {
	bootstrap.Main("shopweb", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "listen address")
		fs.StringVar(&cfg.EnvFile, "env-file", "", "write SHOPWEB_ADDR here once listening")
	}, service.Run)
}
