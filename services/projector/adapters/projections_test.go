package adapters_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	events "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/projection"
	"github.com/stratahq/strata/services/projector/adapters"
)

func setup(t testing.TB) (*pgxpool.Pool, *projection.Runner) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	r := projection.NewRunner(pool, adapters.OrderSummaries{}, adapters.DailySales{})
	if err := r.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return pool, r
}

var day = time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC)

func history(id string, total int64, tail ...any) []projection.Event {
	evs := []any{&events.OrderPlaced{OrderID: id, CustomerID: "c-" + id, Currency: "KRW", ShippingMethod: "EXPRESS", TotalAmount: total,
		Items: []events.OrderItem{{ProductID: "p", Quantity: 2, UnitPrice: total / 4}, {ProductID: "q", Quantity: 1, UnitPrice: total / 2}}, PlacedAt: day}}
	evs = append(evs, tail...)
	out := make([]projection.Event, len(evs))
	types := map[string]string{"*order.OrderPlaced": "shop.order.OrderPlaced", "*order.OrderConfirmed": "shop.order.OrderConfirmed",
		"*order.OrderShipped": "shop.order.OrderShipped", "*order.OrderCancelled": "shop.order.OrderCancelled"}
	for i, e := range evs {
		out[i] = projection.Event{Type: types[fmt.Sprintf("%T", e)], StreamID: "order-" + id, Version: int64(i + 1), Position: int64(i + 1), RecordedAt: day, Data: e}
	}
	return out
}

func apply(t testing.TB, pool *pgxpool.Pool, r *projection.Runner, evs ...projection.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return r.Apply(context.Background(), tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProjections(t *testing.T) {
	pool, r := setup(t)
	ctx := context.Background()
	later := day.Add(time.Hour) // the next UTC day: daily_sales counts on the day of placement
	apply(t, pool, r, history("a", 1000, &events.OrderConfirmed{OrderID: "a", ConfirmedAt: later}, &events.OrderShipped{OrderID: "a", ShippedAt: later})...)
	apply(t, pool, r, history("b", 400, &events.OrderCancelled{OrderID: "b", CancelledAt: later})...)
	apply(t, pool, r, history("c", 200)...)
	apply(t, pool, r, history("b", 400, &events.OrderCancelled{OrderID: "b", CancelledAt: later})...) // redelivered: no effect

	var status string
	var total, version int64
	var units, lines int
	var updated time.Time
	if err := pool.QueryRow(ctx, `SELECT status, total_amount, item_count, line_count, version, last_updated FROM read.order_summaries WHERE order_id = 'a'`).
		Scan(&status, &total, &units, &lines, &version, &updated); err != nil {
		t.Fatal(err)
	}
	if status != "SHIPPED" || total != 1000 || units != 3 || lines != 2 || version != 3 || !updated.Equal(later) {
		t.Fatalf("summary a: %s %d %d %d v%d %v", status, total, units, lines, version, updated)
	}
	var placed, confirmed, shipped, cancelled, gross, cancelledAmt int64
	if err := pool.QueryRow(ctx, `SELECT orders_placed, orders_confirmed, orders_shipped, orders_cancelled, gross_amount, cancelled_amount
		FROM read.daily_sales WHERE day = '2026-11-25' AND currency = 'KRW'`).Scan(&placed, &confirmed, &shipped, &cancelled, &gross, &cancelledAmt); err != nil {
		t.Fatal(err)
	}
	if placed != 3 || confirmed != 1 || shipped != 1 || cancelled != 1 || gross != 1600 || cancelledAmt != 400 {
		t.Fatalf("daily_sales: placed %d confirmed %d shipped %d cancelled %d gross %d cancelled %d", placed, confirmed, shipped, cancelled, gross, cancelledAmt)
	}
	// An event for an order the projection never saw is a gap, not a silent no-op.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return r.Apply(ctx, tx, projection.Event{Type: "shop.order.OrderShipped", StreamID: "order-zz", Version: 3, Data: &events.OrderShipped{OrderID: "zz"}})
	})
	if err == nil {
		t.Fatal("an event of an unseen order was applied")
	}
}

// BenchmarkApply measures one event applied to both projections in its own
// transaction (what the consumer does per message, without Kafka).
func BenchmarkApply(b *testing.B) {
	pool, r := setup(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		apply(b, pool, r, history(fmt.Sprint(i), 1000)[0])
	}
}
