package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	events "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/projection"
)

// The order events the projections consume (Avro full names).
var orderEventTypes = []string{
	"shop.order.OrderPlaced", "shop.order.OrderConfirmed", "shop.order.OrderShipped", "shop.order.OrderCancelled",
}

// OrderSummaries is the read.order_summaries projection: one denormalised row
// per order (the seed design's order_summaries, without customer name and
// e-mail, which no event carries).
type OrderSummaries struct{}

var _ projection.Projection = OrderSummaries{}

// OrderSummariesName is the projection's (and table's) name.
const OrderSummariesName = "order_summaries"

// Name implements projection.Projection.
func (OrderSummaries) Name() string { return OrderSummariesName }

// EventTypes implements projection.Projection.
func (OrderSummaries) EventTypes() []string { return orderEventTypes }

// Tables implements projection.Projection.
func (OrderSummaries) Tables() []string { return []string{OrderSummariesName} }

// Create implements projection.Projection.
func (OrderSummaries) Create(ctx context.Context, tx pgx.Tx, t projection.Tables) error {
	n := t.Get(OrderSummariesName)
	_, err := tx.Exec(ctx, `
CREATE TABLE `+n+` (
    order_id        text PRIMARY KEY,
    customer_id     text        NOT NULL,
    status          text        NOT NULL,
    total_amount    bigint      NOT NULL,
    currency        text        NOT NULL,
    item_count      integer     NOT NULL,
    line_count      integer     NOT NULL,
    shipping_method text        NOT NULL,
    placed_at       timestamptz NOT NULL,
    last_updated    timestamptz NOT NULL,
    version         bigint      NOT NULL,
    position        bigint      NOT NULL
);
CREATE INDEX ON `+n+` (placed_at DESC, order_id DESC);
CREATE INDEX ON `+n+` (customer_id, placed_at DESC, order_id DESC);
CREATE INDEX ON `+n+` (status, placed_at DESC, order_id DESC);`)
	return err
}

// Apply implements projection.Projection.
func (OrderSummaries) Apply(ctx context.Context, tx pgx.Tx, t projection.Tables, ev projection.Event) error {
	n := t.Get(OrderSummariesName)
	switch e := ev.Data.(type) {
	case *events.OrderPlaced:
		units := 0
		for _, it := range e.Items {
			units += it.Quantity
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+n+` (order_id, customer_id, status, total_amount, currency, item_count,
			line_count, shipping_method, placed_at, last_updated, version, position)
			VALUES ($1, $2, 'PLACED', $3, $4, $5, $6, $7, $8, $8, $9, $10)`,
			e.OrderID, e.CustomerID, e.TotalAmount, e.Currency, units, len(e.Items), e.ShippingMethod, e.PlacedAt, ev.Version, ev.Position)
		return err
	case *events.OrderConfirmed:
		return setStatus(ctx, tx, n, e.OrderID, "CONFIRMED", e.ConfirmedAt, ev)
	case *events.OrderShipped:
		return setStatus(ctx, tx, n, e.OrderID, "SHIPPED", e.ShippedAt, ev)
	case *events.OrderCancelled:
		return setStatus(ctx, tx, n, e.OrderID, "CANCELLED", e.CancelledAt, ev)
	default:
		return fmt.Errorf("order_summaries: unknown event %T", ev.Data)
	}
}

func setStatus(ctx context.Context, tx pgx.Tx, table, orderID, status string, at time.Time, ev projection.Event) error {
	tag, err := tx.Exec(ctx, `UPDATE `+table+` SET status = $2, last_updated = $3, version = $4, position = $5 WHERE order_id = $1`,
		orderID, status, at, ev.Version, ev.Position)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("order %s: no summary row to set %s on", orderID, status)
	}
	return nil
}

// DailySales is the read.daily_sales projection: per UTC day of placement
// and currency, orders placed, shipped and cancelled with their amounts. Its
// helper table daily_sales_orders remembers each order's day and total, since
// later events do not carry them.
type DailySales struct{}

var _ projection.Projection = DailySales{}

// DailySalesName is the projection's (and main table's) name.
const DailySalesName = "daily_sales"

const dailySalesOrders = "daily_sales_orders"

// Name implements projection.Projection.
func (DailySales) Name() string { return DailySalesName }

// EventTypes implements projection.Projection.
func (DailySales) EventTypes() []string {
	return []string{"shop.order.OrderPlaced", "shop.order.OrderShipped", "shop.order.OrderCancelled", "shop.order.OrderConfirmed"}
}

// Tables implements projection.Projection.
func (DailySales) Tables() []string { return []string{DailySalesName, dailySalesOrders} }

// Create implements projection.Projection.
func (DailySales) Create(ctx context.Context, tx pgx.Tx, t projection.Tables) error {
	_, err := tx.Exec(ctx, `
CREATE TABLE `+t.Get(DailySalesName)+` (
    day              date   NOT NULL,
    currency         text   NOT NULL,
    orders_placed    bigint NOT NULL DEFAULT 0,
    orders_confirmed bigint NOT NULL DEFAULT 0,
    orders_shipped   bigint NOT NULL DEFAULT 0,
    orders_cancelled bigint NOT NULL DEFAULT 0,
    gross_amount     bigint NOT NULL DEFAULT 0, -- sum of placed totals
    cancelled_amount bigint NOT NULL DEFAULT 0, -- sum of cancelled totals
    PRIMARY KEY (day, currency)
);
CREATE TABLE `+t.Get(dailySalesOrders)+` (
    order_id text PRIMARY KEY,
    day      date   NOT NULL,
    currency text   NOT NULL,
    total    bigint NOT NULL
);`)
	return err
}

// Apply implements projection.Projection.
func (DailySales) Apply(ctx context.Context, tx pgx.Tx, t projection.Tables, ev projection.Event) error {
	sales, orders := t.Get(DailySalesName), t.Get(dailySalesOrders)
	var orderID, column string
	switch e := ev.Data.(type) {
	case *events.OrderPlaced:
		day := e.PlacedAt.UTC().Format(time.DateOnly)
		// One round trip: remember the order's day and total, count it. The
		// day's row is a hot row shared by every order of the day, so it is
		// written last, just before commit (see projector.Projections order).
		_, err := tx.Exec(ctx, `WITH o AS (INSERT INTO `+orders+` (order_id, day, currency, total) VALUES ($1, $2, $3, $4))
			INSERT INTO `+sales+` (day, currency, orders_placed, gross_amount) VALUES ($2, $3, 1, $4)
			ON CONFLICT (day, currency) DO UPDATE SET orders_placed = `+sales+`.orders_placed + 1,
			gross_amount = `+sales+`.gross_amount + EXCLUDED.gross_amount`, e.OrderID, day, e.Currency, e.TotalAmount)
		return err
	case *events.OrderConfirmed:
		orderID, column = e.OrderID, "orders_confirmed = orders_confirmed + 1"
	case *events.OrderShipped:
		orderID, column = e.OrderID, "orders_shipped = orders_shipped + 1"
	case *events.OrderCancelled:
		orderID, column = e.OrderID, "orders_cancelled = orders_cancelled + 1, cancelled_amount = cancelled_amount + o.total"
	default:
		return fmt.Errorf("daily_sales: unknown event %T", ev.Data)
	}
	tag, err := tx.Exec(ctx, `UPDATE `+sales+` s SET `+column+` FROM `+orders+` o
		WHERE o.order_id = $1 AND s.day = o.day AND s.currency = o.currency`, orderID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("daily_sales: order %s was never placed", orderID)
	}
	return nil
}
