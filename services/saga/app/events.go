package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	orderev "github.com/stratahq/strata/gen/avro/order"
	"github.com/stratahq/strata/saga"
	"github.com/stratahq/strata/services/saga/domain/fulfilment"
)

// Engine is the part of the saga engine the orchestrator uses.
type Engine interface {
	StartTx(ctx context.Context, tx pgx.Tx, sagaType, id string, data any) (bool, error)
	HandleReplyTx(ctx context.Context, tx pgx.Tx, r saga.Reply) (bool, error)
}

var _ Engine = (*saga.Engine)(nil)

// Orchestrator turns events into saga starts and replies.
type Orchestrator struct {
	engine Engine
}

// New returns the orchestrator over engine.
func New(engine Engine) *Orchestrator { return &Orchestrator{engine: engine} }

// HandleEvent applies one decoded event (a generated Avro type) of a stream
// of streamType inside tx. causationID is the id of the command that caused
// the event ("" if none).
// Events that start or answer nothing are ignored. A saga version conflict is
// returned (saga.IsRetryable) for the caller to retry.
func (o *Orchestrator) HandleEvent(ctx context.Context, tx pgx.Tx, streamType string, ev any, causationID string) error {
	if placed, ok := ev.(*orderev.OrderPlaced); ok {
		if _, err := o.engine.StartTx(ctx, tx, fulfilment.SagaType, placed.OrderID, fulfilment.FromOrderPlaced(placed)); err != nil {
			return fmt.Errorf("start fulfilment of %s: %w", placed.OrderID, err)
		}
		return nil
	}
	r, ok, err := fulfilment.ReplyOf(streamType, ev, causationID)
	if err != nil || !ok {
		return err
	}
	if _, err := o.engine.HandleReplyTx(ctx, tx, r); err != nil {
		return fmt.Errorf("reply %s/%s %s: %w", r.SagaID, r.Step, r.Kind, err)
	}
	return nil
}
