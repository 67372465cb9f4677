package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	orderev "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/messaging"
	"github.com/stratahq/strata/serde"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// SagaCommands is what the fulfilment saga's commands (topic commands.order)
// need from the order service; *command.Handlers has it.
type SagaCommands interface {
	ConfirmOrder(ctx context.Context, meta command.Meta, id, paymentID, reservationID string) (command.Result, error)
	CancelOrder(ctx context.Context, meta command.Meta, id, reason string) (command.Result, error)
}

var _ SagaCommands = (*command.Handlers)(nil)

// HandleSagaCommand runs one decoded saga command (*ConfirmOrder or
// *CancelOrder). meta.CommandID must be the message's event id, so the reply
// event's causation id names the command. A command the order's state
// refuses (confirming a cancelled order, cancelling a cancelled one) or for
// an unknown order decides nothing and is not an error: the saga times out or
// has already seen the order's own OrderCancelled.
func HandleSagaCommand(ctx context.Context, h SagaCommands, meta command.Meta, cmd any) error {
	var err error
	switch c := cmd.(type) {
	case *orderev.ConfirmOrder:
		_, err = h.ConfirmOrder(ctx, meta, c.OrderID, c.PaymentID, c.ReservationID)
	case *orderev.CancelOrder:
		_, err = h.CancelOrder(ctx, meta, c.OrderID, c.Reason)
	default:
		return fmt.Errorf("order saga commands: unexpected %T", cmd)
	}
	if errors.Is(err, order.ErrForbidden) || errors.Is(err, order.ErrNotFound) {
		return nil
	}
	return err
}

// SagaCommandsTopic carries the fulfilment saga's commands to the order
// service (before any prefix).
const SagaCommandsTopic = "commands.order"

// SagaCommandRouter routes ConfirmOrder and CancelOrder from the saga to h.
// The command id is the message's event id; the saga id its correlation id.
func SagaCommandRouter(types *serde.Registry, h SagaCommands) *messaging.Router {
	r := messaging.NewRouter(types)
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *orderev.ConfirmOrder) error {
		return HandleSagaCommand(ctx, h, command.Meta{CommandID: env.EventID, CorrelationID: env.CorrelationID}, c)
	})
	messaging.Handle(r, func(ctx context.Context, _ pgx.Tx, env messaging.Envelope, c *orderev.CancelOrder) error {
		return HandleSagaCommand(ctx, h, command.Meta{CommandID: env.EventID, CorrelationID: env.CorrelationID}, c)
	})
	return r
}
