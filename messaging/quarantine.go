package messaging

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// QuarantinedEvent is an event Kafka refused to take (too large, invalid
// record): the relay holds at it until an operator skips it.
type QuarantinedEvent struct {
	Relay         string
	Cursor        Cursor
	EventID       string
	StreamID      string
	EventType     string
	Topic         string
	Size          int
	Reason        string
	Attempts      int
	QuarantinedAt time.Time
	LastAttempt   time.Time
	Skipped       bool
	SkippedAt     time.Time
}

// ListQuarantine returns relay's quarantined events (relay "": every relay's).
func ListQuarantine(ctx context.Context, db *pgxpool.Pool, relay string) ([]QuarantinedEvent, error) {
	return nil, nil
}

// SkipQuarantined marks a quarantined event as skipped: the relay passes it.
func SkipQuarantined(ctx context.Context, db *pgxpool.Pool, relay, eventID string) error {
	return errors.New("not implemented")
}
