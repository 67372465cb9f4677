package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
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

// declinedCustomer is refused by the payment service (make run sets
// PAYMENT_DECLINE_CUSTOMERS to it), so the saga cancels the customer's orders.
const declinedCustomer = "demo-declined"

// sagaRunning reports whether the saga orchestrator's metrics address
// (SAGA_METRICS_ADDR, from `make env`) accepts connections.
func sagaRunning() bool {
	addr := os.Getenv("SAGA_METRICS_ADDR")
	if addr == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// await polls the read model until the order has status want (the saga's
// doing), at most 60s.
func (cl clients) await(ctx context.Context, st *stats, id string, want queryv1.OrderStatus) bool {
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := cl.query.GetOrderSummary(ctx, &queryv1.GetOrderSummaryRequest{OrderId: id})
		if err == nil && r.Summary.Status == want {
			st.byStatus.Store(id, r.Summary.Status)
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			st.fail(fmt.Errorf("order %s: not %s after 60s (the saga should have done it; strata saga show %s)", id, want, id))
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
