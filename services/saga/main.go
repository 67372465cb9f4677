// Command saga runs the order-fulfilment orchestrator: OrderPlaced starts a
// durable saga (payment, stock, confirmation; compensation on failure).
// Configuration: see service.FromEnv; operate it with strata saga.
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
	"github.com/stratahq/strata/services/saga/service"
)

func main() {
	cfg, err := service.FromEnv()
	if err == nil {
		flag.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "metrics listen address (off to disable)")
		flag.StringVar(&cfg.EnvFile, "env-file", "", "write the bound addresses as export lines to this file")
		flag.Parse()
		cfg.Logger = observe.NewLogger(os.Stderr, slog.LevelInfo)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = service.Run(ctx, cfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "saga:", err)
		os.Exit(1)
	}
}
