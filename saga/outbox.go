package saga

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Headers every command message carries besides the transport's own
// (event-id = command id, event-type = command type, correlation-id = saga id).
const (
	HeaderSagaID   = "saga-id"
	HeaderSagaType = "saga-type"
	HeaderSagaStep = "saga-step"
	HeaderSagaKind = "saga-kind"
	// HeaderCorrelationID overrides the transport's correlation-id (the saga
	// id) with the correlation id of the flow that started the saga.
	HeaderCorrelationID = "correlation-id"
)

// Message is one command taken from the outbox for a transport to deliver.
type Message struct {
	ID      string // the command id; send it as the message's event id
	Topic   string
	Key     string // the saga id unless the step chose another key
	Type    string // Avro full name of the command
	Payload []byte // as produced by the Encoder
	Headers map[string]string
}

// Transport delivers commands. Send returns only when every message is
// durably accepted (e.g. Kafka delivery reports with acks=all); an error
// leaves them all in the outbox to be sent again (at-least-once).
type Transport interface {
	Send(ctx context.Context, msgs []Message) error
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, msgs []Message) error

// Send calls f.
func (f TransportFunc) Send(ctx context.Context, msgs []Message) error { return f(ctx, msgs) }

// RelayOutbox sends up to limit pending commands, oldest first, and deletes
// them once the transport accepted them. Rows are claimed with FOR UPDATE SKIP
// LOCKED, so several relays can run at once. It returns how many it sent.
func (e *Engine) RelayOutbox(ctx context.Context, t Transport, limit int) (int, error) {
	return RelayOutbox(ctx, e.db, t, limit)
}

// RelayOutbox is Engine.RelayOutbox without an engine (definitions are not needed).
//
// No transaction is open while the transport sends: rows are claimed for
// outboxLease in one short statement (FOR UPDATE SKIP LOCKED, so concurrent
// relays take different rows), sent, then deleted by their claim token. A
// relay that dies mid-send leaves its rows to be claimed again when the
// lease runs out (at-least-once; receivers deduplicate by command id).
func RelayOutbox(ctx context.Context, db DB, t Transport, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	token := uuid.New()
	rows, err := db.Query(ctx, `UPDATE saga.outbox o SET claimed_until = now() + $3::interval, claim_token = $2
		WHERE o.id IN (SELECT id FROM saga.outbox WHERE claimed_until IS NULL OR claimed_until < now()
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, command_id, topic, msg_key, msg_type, payload, headers`, limit, token, outboxLease.String())
	if err != nil {
		return 0, fmt.Errorf("saga outbox: claim: %w", err)
	}
	type claimed struct {
		id int64
		m  Message
	}
	var got []claimed
	for rows.Next() {
		var c claimed
		var headers []byte
		if err := rows.Scan(&c.id, &c.m.ID, &c.m.Topic, &c.m.Key, &c.m.Type, &c.m.Payload, &headers); err != nil {
			rows.Close()
			return 0, fmt.Errorf("saga outbox: scan: %w", err)
		}
		if err := json.Unmarshal(headers, &c.m.Headers); err != nil {
			rows.Close()
			return 0, fmt.Errorf("saga outbox: headers of %s: %w", c.m.ID, err)
		}
		got = append(got, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("saga outbox: claim: %w", err)
	}
	if len(got) == 0 {
		return 0, nil
	}
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Compare(a.id, b.id) })
	msgs := make([]Message, len(got))
	for i, c := range got {
		msgs[i] = c.m
	}
	if err := t.Send(ctx, msgs); err != nil {
		// Give the rows back at once rather than at the end of the lease.
		if _, uerr := db.Exec(context.WithoutCancel(ctx), `UPDATE saga.outbox SET claimed_until = NULL, claim_token = NULL
			WHERE claim_token = $1`, token); uerr != nil {
			err = errors.Join(err, fmt.Errorf("release claim: %w", uerr))
		}
		return 0, fmt.Errorf("saga outbox: send %d commands: %w", len(msgs), err)
	}
	if _, err := db.Exec(context.WithoutCancel(ctx), `DELETE FROM saga.outbox WHERE claim_token = $1`, token); err != nil {
		return 0, fmt.Errorf("saga outbox: delete sent: %w", err)
	}
	return len(msgs), nil
}

// outboxLease is how long a relay owns the rows it claimed; longer than a
// transport's send takes (the Kafka transport gives up after 30s).
const outboxLease = 2 * time.Minute

// FireDue fires up to limit deadlines due at the engine's clock: a reply
// timeout compensates (or counts as a failed compensation attempt); a retry
// deadline sends the next compensation attempt. Each deadline is claimed
// with FOR UPDATE SKIP LOCKED and handled in its own transaction, so several
// orchestrator instances can scan at once. It returns how many it fired.
func (e *Engine) FireDue(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	fired := 0
	var errs []error
	for range limit {
		ok, err := e.fireOne(ctx)
		if err != nil && !IsRetryable(err) {
			if !ok || ctx.Err() != nil {
				return fired, errors.Join(append(errs, err)...)
			}
			errs = append(errs, err) // postponed; go on with the others
			continue
		}
		if !ok && err == nil {
			break
		}
		if ok && err == nil {
			fired++
		}
	}
	return fired, errors.Join(errs...)
}

// fireOne handles the oldest due deadline of a saga type this engine runs;
// false when none is due. A deadline whose handling fails for another reason
// than a version conflict is postponed by deadlineBackoff (and the error
// returned), so one broken saga cannot hold back everyone else's deadlines.
func (e *Engine) fireOne(ctx context.Context) (bool, error) {
	now := e.cfg.Clock().UTC()
	var sagaID, cmdID, kind string
	found := false
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT d.saga_id, d.command_id, d.kind FROM saga.deadlines d
			JOIN saga.instances i ON i.id = d.saga_id
			WHERE d.due_at <= $1 AND i.saga_type = ANY($2)
			ORDER BY d.due_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED`, now, e.types()).Scan(&sagaID, &cmdID, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("saga deadlines: claim: %w", err)
		}
		found = true
		inst, nextSeq, err := loadInstance(ctx, tx, sagaID)
		if err != nil {
			return err
		}
		ev := event{kind: evTimeout, commandID: cmdID}
		if kind == deadlineRetry {
			ev.kind = evRetryDue
		}
		applied, err := e.apply(ctx, tx, inst, nextSeq, ev)
		if err != nil {
			return err
		}
		if !applied {
			if _, err := tx.Exec(ctx, `DELETE FROM saga.deadlines WHERE saga_id=$1 AND command_id=$2 AND kind=$3`,
				sagaID, cmdID, kind); err != nil {
				return fmt.Errorf("saga deadlines: drop stale: %w", err)
			}
		}
		return nil
	})
	if err != nil && found && !IsRetryable(err) && ctx.Err() == nil {
		e.cfg.Logger.ErrorContext(ctx, "saga deadline failed; postponed", "saga_id", sagaID, "kind", kind, "err", err)
		if _, perr := e.db.Exec(ctx, `UPDATE saga.deadlines SET due_at = $4 WHERE saga_id=$1 AND command_id=$2 AND kind=$3`,
			sagaID, cmdID, kind, now.Add(deadlineBackoff)); perr != nil {
			err = errors.Join(err, fmt.Errorf("postpone deadline of %s: %w", sagaID, perr))
		}
	}
	return found, err
}

// deadlineBackoff postpones a deadline whose handling failed.
const deadlineBackoff = time.Minute

func (e *Engine) types() []string {
	out := make([]string, 0, len(e.defs))
	for t := range e.defs {
		out = append(out, t)
	}
	return out
}

// RunOptions tunes Run.
type RunOptions struct {
	PollInterval time.Duration // 250ms: how often the outbox and deadlines are scanned when idle
	BatchSize    int           // 100
}

// Run relays the outbox through t and fires due deadlines until ctx ends. It
// wakes up at once when this engine wrote a command. Errors are logged and
// retried after PollInterval; Run returns nil when ctx is cancelled.
func (e *Engine) Run(ctx context.Context, t Transport, opt RunOptions) error {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 250 * time.Millisecond
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 100
	}
	tick := time.NewTicker(opt.PollInterval)
	defer tick.Stop()
	for {
		busy := false
		if n, err := e.RelayOutbox(ctx, t, opt.BatchSize); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.cfg.Logger.WarnContext(ctx, "saga outbox relay", "err", err)
		} else if n == opt.BatchSize {
			busy = true
		}
		if n, err := e.FireDue(ctx, opt.BatchSize); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.cfg.Logger.WarnContext(ctx, "saga deadline scan", "err", err)
		} else if n == opt.BatchSize {
			busy = true
		}
		if busy {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.nudge:
		case <-tick.C:
		}
	}
}
