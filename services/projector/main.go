// Command projector builds the shop's read models from Kafka and serves the
// OrderQueryService. Configuration: see service.FromEnv; flags -env-file.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/stratahq/strata/observe"
	"github.com/stratahq/strata/services/projector/service"
)

func main() {
	cfg, err := service.FromEnv()
	if err == nil {
		flag.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
		flag.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "metrics listen address (off to disable)")
		flag.StringVar(&cfg.EnvFile, "env-file", "", "write the bound addresses as export lines to this file")
		flag.Parse()
		cfg.Logger = observe.NewLogger(os.Stderr, slog.LevelInfo)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = service.Run(ctx, cfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
}
