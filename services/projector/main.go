// Command projector builds the shop's read models from Kafka and serves the
// OrderQueryService. Configuration: see service.FromEnv; flags -env-file.
//
// `projector rebuild NAME [--database-url URL]` rebuilds one read model from
// the event store (projection.RebuildMain) and exits. `projector console
// [flags]` serves the operator console (strata console's flags) with the
// shop's projections and upcasters, so it can also rebuild.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/stratahq/strata/bootstrap"
	"github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
	cliconsole "github.com/stratahq/strata/tools/strata/cli/console"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "console" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := clikit.Execute(ctx, cliconsole.Command(service.ConsoleOption), os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "rebuild" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := service.Rebuild(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	bootstrap.Main("projector", service.FromEnv, func(cfg *service.Config, fs *flag.FlagSet, log *slog.Logger) {
		cfg.Logger = log
		bootstrap.Flags(fs, &cfg.GRPCAddr, &cfg.MetricsAddr, &cfg.EnvFile)
	}, service.Run)
}
