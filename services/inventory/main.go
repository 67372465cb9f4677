// Command inventory runs the inventory service: it consumes the fulfilment
// saga's stock commands from Kafka and keeps product stock and reservations
// in the event store. Configuration: see service.FromEnv.
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
	"github.com/stratahq/strata/services/inventory/service"
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
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}
