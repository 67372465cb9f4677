package adapters

import (
	"context"
	"errors"
	"fmt"

	orderev "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/services/order/app/command"
	"github.com/stratahq/strata/services/order/domain/order"
)

// SagaCommands is what the fulfilment saga's commands (topic commands.order)
// need from the order service; *command.Handlers has it. The Kafka side is
// ports.CommandRouter; HandleSagaCommand serves in-process transports (the
// saga's end-to-end tests without Kafka).
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
