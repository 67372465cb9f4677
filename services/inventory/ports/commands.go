package ports

import (
	"context"

	"github.com/jackc/pgx/v5"

	inventoryev "github.com/stratahq/strata/gen/avro/inventory"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/inventory/app/command"
)

// Topic carries the inventory service's commands (before any prefix).
const Topic = "commands.inventory"

// Router routes the inventory commands to h. The command id is the message's
// event id; the saga id its correlation id.
func Router(types *serde.Registry, h *command.Handlers) *messaging.Router {
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *inventoryev.ReserveStock) error {
		return h.ReserveStock(ctx, meta(env), c)
	})
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *inventoryev.ReleaseStock) error {
		return h.ReleaseStock(ctx, meta(env), c)
	})
	return r
}

func meta(env messaging.Envelope) command.Meta {
	return command.Meta{CommandID: env.EventID, CorrelationID: env.CorrelationID}
}
