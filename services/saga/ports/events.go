package ports

import (
	"context"

	"github.com/jackc/pgx/v5"

	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	orderev "github.com/stratahq/strata/gen/avro/order"
	paymentev "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/saga/app"
)

// Topics the orchestrator consumes (before any prefix).
// events.replies carries participants' answers to repeated commands.
var Topics = []string{"events.order", "events.payment", "events.inventory", "events.replies"}

// Router routes every event that starts or answers a fulfilment saga to o.
func Router(types *serde.Registry, o *app.Orchestrator) *messaging.Router {
	r := messaging.NewRouter(types)
	handle[orderev.OrderPlaced](r, o)
	handle[orderev.OrderConfirmed](r, o)
	handle[orderev.OrderCancelled](r, o)
	handle[paymentev.PaymentAuthorized](r, o)
	handle[paymentev.PaymentFailed](r, o)
	handle[paymentev.PaymentRefunded](r, o)
	handle[paymentev.PaymentRefundFailed](r, o)
	handle[inventoryev.StockReserved](r, o)
	handle[inventoryev.StockReservationFailed](r, o)
	handle[inventoryev.StockReleased](r, o)
	return r
}

func handle[T any](r *messaging.Router, o *app.Orchestrator) {
	messaging.Handle(r, func(ctx context.Context, tx pgx.Tx, env messaging.Envelope, ev *T) error {
		return o.HandleEvent(ctx, tx, env.StreamType, ev, env.CausationID)
	})
}
