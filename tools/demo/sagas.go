package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/saga"
)

// printSagaOutcomes waits (at most wait) for the order-fulfilment sagas of
// this run's orders to end (COMPLETED, COMPENSATED or PARKED) and prints how
// they ended. Without the saga orchestrator (no saga tables) it says so.
func printSagaOutcomes(ctx context.Context, out io.Writer, dbURL string, ids []string, wait time.Duration) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Fprintf(out, "sagas: unknown (%v)\n", err)
		return
	}
	defer conn.Close(ctx)
	start := time.Now()
	var counts map[saga.Status]int
	for {
		counts, err = saga.CountByStatusFor(ctx, conn, ids)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined table
			fmt.Fprintln(out, "sagas: none (the saga orchestrator is not running: make run starts it)")
			return
		}
		if err != nil {
			fmt.Fprintf(out, "sagas: unknown (%v)\n", err)
			return
		}
		running := len(ids) - counts[saga.StatusCompleted] - counts[saga.StatusCompensated] - counts[saga.StatusParked]
		if running == 0 || time.Since(start) > wait || ctx.Err() != nil {
			fmt.Fprintf(out, "order-fulfilment sagas (this run, after %s): %d completed, %d compensated, %d parked, %d not finished\n",
				time.Since(start).Round(time.Millisecond), counts[saga.StatusCompleted], counts[saga.StatusCompensated],
				counts[saga.StatusParked], running)
			if counts[saga.StatusParked] > 0 {
				fmt.Fprintln(out, "  parked sagas need an operator: strata saga list --stuck; strata saga show ID; strata saga retry ID")
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
