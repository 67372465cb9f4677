package eventstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/eventstore/internal/db"
)

// AppendInTx runs the append function inside tx, so tests can hold a
// transaction that has appended open (a slow commit) or roll it back.
// tx must not have written before (see eventstore_append).
func (s *Store) AppendInTx(ctx context.Context, tx pgx.Tx, stream, streamType string, events ...EventData) error {
	if err := s.ensureSchemas(ctx, events); err != nil {
		return err
	}
	p := db.AppendEventsParams{StreamID: stream, StreamType: streamType, Expected: int64(Any), RecordedAt: s.cfg.Clock()}
	for _, e := range events {
		p.EventIds = append(p.EventIds, e.ID)
		p.EventTypes = append(p.EventTypes, e.Type)
		p.Fingerprints = append(p.Fingerprints, e.Schema.Fingerprint[:])
		p.Payloads = append(p.Payloads, e.Payload)
		p.CorrelationIds = append(p.CorrelationIds, e.CorrelationID)
		p.CausationIds = append(p.CausationIds, e.CausationID)
		p.UserIds = append(p.UserIds, e.UserID)
		p.Traceparents = append(p.Traceparents, e.TraceParent)
	}
	if _, err := s.q.WithTx(tx).AppendEvents(ctx, p); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify('"+NotifyChannel+"', '')")
	return err
}
