package ports

import (
	"context"

	"github.com/jackc/pgx/v5"

	paymentev "github.com/stratahq/strata/gen/avro/payment"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/payment/app/command"
)

// Topic carries the payment service's commands (before any prefix).
const Topic = "commands.payment"

// Router routes the payment commands to h. The command id is the message's
// event id; the saga id its correlation id.
func Router(types *serde.Registry, h *command.Handlers) *messaging.Router {
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *paymentev.AuthorizePayment) error {
		return h.AuthorizePayment(ctx, meta(env), c)
	})
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *paymentev.RefundPayment) error {
		return h.RefundPayment(ctx, meta(env), c)
	})
	return r
}

func meta(env messaging.Envelope) command.Meta {
	return command.Meta{CommandID: env.EventID, CorrelationID: env.CorrelationID}
}
