package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	events "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// CommandTopic carries commands to the order service from the fulfilment
// saga (shop.order.ConfirmOrder, shop.order.CancelOrder), before any prefix.
const CommandTopic = "commands.order"

// CommandRouter routes the saga's order commands to h. The command id is the
// message's event id (so a redelivered command is recognised and appends
// nothing), the correlation id and traceparent come from its headers. The
// order service answers with the resulting event on events.order
// (OrderConfirmed, OrderCancelled).
//
// A command the order's state forbids is not an error here: confirming an
// order the customer cancelled meanwhile, or cancelling one already cancelled,
// is logged and acknowledged, and the saga learns the outcome from the
// order's own events. Invalid commands go to the dead-letter topic at once;
// anything else (store unavailable, conflicts after retries) is retried by
// the consumer runtime.
func CommandRouter(types *serde.Registry, h *command.Handlers, log *slog.Logger) *messaging.Router {
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *events.ConfirmOrder) error {
		return HandleCommand(ctx, h, log, commandMeta(env), c)
	})
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *events.CancelOrder) error {
		return HandleCommand(ctx, h, log, commandMeta(env), c)
	})
	return r
}

// HandleCommand runs one decoded saga command (*ConfirmOrder or *CancelOrder)
// with the outcome rules of CommandRouter: nil when applied or when the
// order's state forbids it (logged), a messaging.Permanent error for an
// invalid command or an unknown order, any other error to be retried.
// CommandRouter calls it for Kafka; in-process transports call it directly.
// meta.CommandID must be the message's event id, so the resulting event's
// causation id names the command.
func HandleCommand(ctx context.Context, h *command.Handlers, log *slog.Logger, meta command.Meta, cmd any) error {
	var (
		name, orderID, verb string
		err                 error
	)
	switch c := cmd.(type) {
	case *events.ConfirmOrder:
		name, orderID, verb = "shop.order.ConfirmOrder", c.OrderID, "confirm"
		_, err = h.ConfirmOrder(ctx, meta, c.OrderID, c.PaymentID, c.ReservationID)
	case *events.CancelOrder:
		name, orderID, verb = "shop.order.CancelOrder", c.OrderID, "cancel"
		_, err = h.CancelOrder(ctx, meta, c.OrderID, c.Reason)
	default:
		return messaging.Permanent(fmt.Errorf("order commands: unexpected %T", cmd))
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, order.ErrForbidden):
		// A repeated command (the saga asked again) gets the outcome the
		// order recorded; one the order cannot answer is logged.
		answered, aerr := h.AnswerRepeat(ctx, meta, orderID, verb)
		if aerr != nil {
			return aerr
		}
		if answered {
			return nil
		}
		log.WarnContext(ctx, "order command not applicable in the order's state; acknowledged", "order_id", orderID,
			"command", name, "command_id", meta.CommandID, "err", err)
		return nil
	case errors.Is(err, order.ErrInvalid), errors.Is(err, order.ErrNotFound):
		return messaging.Permanent(err)
	}
	return err
}

func commandMeta(env messaging.Envelope) command.Meta {
	return command.Meta{CommandID: env.EventID, CorrelationID: env.CorrelationID, UserID: env.UserID, TraceParent: env.TraceParent}
}
