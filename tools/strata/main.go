// Command strata is Strata's command-line tool: the schema workflow (lint,
// compatibility gate, register, catalog), the schema registry server and
// operations (migrations, DLQ, projections, sagas, lag, archive).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stratahq/strata/tools/strata/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
