package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotQuarantined: SkipQuarantined was given an event the relay has not
// quarantined.
var ErrNotQuarantined = errors.New("messaging: event not quarantined")

// QuarantinedEvent is an event Kafka refused to take for good (larger than
// message.max.bytes, an invalid record): the relay holds at it, so that no
// later event of its stream overtakes it, until an operator skips it
// (strata relay quarantine skip) or Kafka takes it (the topic's limit raised).
type QuarantinedEvent struct {
	Relay         string    `json:"relay"`
	Cursor        Cursor    `json:"cursor"`
	EventID       string    `json:"event_id"`
	StreamID      string    `json:"stream_id"`
	EventType     string    `json:"event_type"`
	Topic         string    `json:"topic"`
	Size          int       `json:"size"` // the Kafka record's value, bytes
	Reason        string    `json:"reason"`
	Attempts      int       `json:"attempts"`
	QuarantinedAt time.Time `json:"quarantined_at"`
	LastAttempt   time.Time `json:"last_attempt"`
	Skipped       bool      `json:"skipped"`
	SkippedAt     time.Time `json:"skipped_at,omitzero"`
}

// refusedForGood reports Kafka errors that retrying the same record cannot
// fix: the relay quarantines the event instead of retrying it forever.
func refusedForGood(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke.Code() {
	case kafka.ErrMsgSizeTooLarge, kafka.ErrInvalidMsgSize, kafka.ErrRecordListTooLarge, kafka.ErrInvalidRecord:
		return true
	}
	return false
}

// ListQuarantine returns relay's quarantined events, oldest first (relay "":
// every relay's).
func ListQuarantine(ctx context.Context, db *pgxpool.Pool, relay string) ([]QuarantinedEvent, error) {
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT relay, tx_id, position, event_id, stream_id, event_type, topic, size, reason, attempts,
	quarantined_at, last_attempt, skipped_at
  FROM messaging_relay_quarantine WHERE $1 = '' OR relay = $1 ORDER BY relay, tx_id, position`, relay)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QuarantinedEvent, error) {
		var q QuarantinedEvent
		var tx int64
		var skipped *time.Time
		err := r.Scan(&q.Relay, &tx, &q.Cursor.Position, &q.EventID, &q.StreamID, &q.EventType, &q.Topic, &q.Size, &q.Reason,
			&q.Attempts, &q.QuarantinedAt, &q.LastAttempt, &skipped)
		q.Cursor.TxID = uint64(tx)
		if skipped != nil {
			q.Skipped, q.SkippedAt = true, *skipped
		}
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	return out, nil
}

// SkipQuarantined marks a quarantined event as skipped: the relay passes it
// without publishing it (within its backoff) and carries on.
func SkipQuarantined(ctx context.Context, db *pgxpool.Pool, relay, eventID string) error {
	if err := Migrate(ctx, db); err != nil {
		return err
	}
	tag, err := db.Exec(ctx, `UPDATE messaging_relay_quarantine SET skipped_at = COALESCE(skipped_at, now())
 WHERE relay = $1 AND event_id = $2`, relay, eventID)
	if err != nil {
		return fmt.Errorf("skip %s: %w", eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("relay %s, event %s: %w", relay, eventID, ErrNotQuarantined)
	}
	return nil
}

// quarantine is what a leading relay knows of its quarantine.
type quarantine struct {
	skipped map[string]bool // pass these without producing
	held    map[string]bool // quarantined, not skipped
}

func loadQuarantine(ctx context.Context, db *pgxpool.Pool, relay string) (quarantine, error) {
	q := quarantine{skipped: map[string]bool{}, held: map[string]bool{}}
	rows, err := db.Query(ctx, `SELECT event_id, skipped_at IS NOT NULL FROM messaging_relay_quarantine WHERE relay = $1`, relay)
	if err != nil {
		return q, fmt.Errorf("load quarantine: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var skipped bool
		if err := rows.Scan(&id, &skipped); err != nil {
			return q, fmt.Errorf("load quarantine: %w", err)
		}
		if skipped {
			q.skipped[id] = true
		} else {
			q.held[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		return q, fmt.Errorf("load quarantine: %w", err)
	}
	return q, nil
}

func recordQuarantine(ctx context.Context, db *pgxpool.Pool, relay string, sl *slot, reason string) error {
	_, err := db.Exec(ctx, `INSERT INTO messaging_relay_quarantine
	(relay, event_id, tx_id, position, stream_id, event_type, topic, size, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (relay, event_id) DO UPDATE SET attempts = messaging_relay_quarantine.attempts + 1,
	last_attempt = now(), reason = EXCLUDED.reason, topic = EXCLUDED.topic, size = EXCLUDED.size`,
		relay, sl.eventID, int64(sl.cursor.TxID), sl.cursor.Position, sl.key, sl.eventType, sl.topic, sl.size, reason)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", sl.eventID, err)
	}
	return nil
}

// resolveQuarantined forgets a quarantined event Kafka has now taken.
func resolveQuarantined(ctx context.Context, db *pgxpool.Pool, relay, eventID string) error {
	if _, err := db.Exec(ctx, `DELETE FROM messaging_relay_quarantine WHERE relay = $1 AND event_id = $2`, relay, eventID); err != nil {
		return fmt.Errorf("resolve quarantined %s: %w", eventID, err)
	}
	return nil
}
