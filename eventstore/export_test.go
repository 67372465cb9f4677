package eventstore

import (
	"context"
	"fmt"

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
	// A stream created after the statement's snapshot makes the statement
	// refuse (no rows); Store.Append looks and runs it again, so do we.
	for attempt := 1; ; attempt++ {
		rows, err := s.q.WithTx(tx).AppendEvents(ctx, p)
		if err != nil {
			return err
		}
		if len(rows) == len(events) {
			break
		}
		if attempt == 3 {
			return fmt.Errorf("append in tx to %s refused %d times", stream, attempt)
		}
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify('"+NotifyChannel+"', '')")
	return err
}
