// Command order runs the order service (gRPC OrderService). Configuration:
// see service.FromEnv; flags override the listen addresses.
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
	"github.com/stratahq/strata/services/order/service"
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
		fmt.Fprintln(os.Stderr, "order:", err)
		os.Exit(1)
	}
}
