package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/eventstore"
	"github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/gen/events"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/projector/service"
	"github.com/stratahq/strata/tools/strata/cli"
)

// The projector's rebuild subcommand rebuilds a read model from the event
// store; strata projection status (which has no projection code) reports it
// from what the projector recorded; strata projection rebuild explains where
// rebuilds run.
func TestProjectorRebuildAndStrataStatus(t *testing.T) {
	url := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := eventstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.New(pool, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	types, err := serde.NewRegistry(events.Types()...)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	for i := range 7 {
		id := uuid.NewString()
		evs := []any{&order.OrderPlaced{OrderID: id, CustomerID: "c", Currency: "KRW", ShippingMethod: "STANDARD", TotalAmount: 100,
			Items: []order.OrderItem{{ProductID: "p", Quantity: 1, UnitPrice: 100}}, PlacedAt: at}}
		if i%2 == 0 {
			evs = append(evs, &order.OrderCancelled{OrderID: id, Reason: "r", CancelledAt: at})
		}
		data := make([]eventstore.EventData, len(evs))
		for j, ev := range evs {
			typ, body, err := types.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			data[j] = eventstore.EventData{ID: uuid.New(), Type: typ.Name, Payload: body,
				Schema: eventstore.Schema{Fingerprint: typ.Fingerprint, Name: typ.Name, JSON: typ.JSON}}
		}
		if _, err := store.Append(ctx, "order-"+id, "order", eventstore.NoStream, data...); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := cli.Run(ctx, []string{"projection", "status", "--database-url", url}, nil, &out, &errb); code != cli.ExitOK {
		t.Fatalf("status: exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "PROJECTION") || strings.Contains(out.String(), "order_summaries") {
		t.Fatalf("status before any projector ran (header only): %s", out.String())
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"projection", "rebuild", "order_summaries", "--database-url", url}, nil, &out, &errb); code != cli.ExitUsage ||
		!strings.Contains(errb.String(), "projector rebuild NAME") || out.Len() != 0 {
		t.Fatalf("strata projection rebuild: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := service.Rebuild(ctx, []string{"order_summaries", "--database-url", url, "--batch", "3"}, &out, &errb); code != 0 {
		t.Fatalf("rebuild: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "rebuilt order_summaries from 11 events (11 applied)") || !strings.Contains(out.String(), "swapped") {
		t.Fatalf("rebuild output: %s", out.String())
	}
	var n, cancelled int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'CANCELLED') FROM read.order_summaries`).Scan(&n, &cancelled); err != nil || n != 7 || cancelled != 4 {
		t.Fatalf("read model after rebuild: %d rows, %d cancelled, %v", n, cancelled, err)
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"projection", "status", "--database-url", url}, nil, &out, &errb); code != cli.ExitOK {
		t.Fatalf("status: exit %d", code)
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "order_summaries") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 6 || f[2] != "0" || f[3] != "11" || f[4] != "7" || f[5] != "0" {
		t.Fatalf("status after rebuild (lag 0, 11 applied, 7 streams, 0 failures): %q", line)
	}
	errb.Reset()
	if !strings.Contains(out.String(), "daily_sales") { // set up by the rebuild's runner, never applied
		t.Fatalf("status lacks daily_sales: %s", out.String())
	}
	errb.Reset()
	if code := service.Rebuild(ctx, []string{"nope", "--database-url", url}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown projection") {
		t.Fatalf("unknown projection: exit %d: %s", code, errb.String())
	}
	if code := service.Rebuild(ctx, nil, &out, &errb); code != 2 {
		t.Fatalf("no name: exit %d", code)
	}
}
