package messaging

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stratahq/strata/eventstore"
)

// StoreLog adapts *eventstore.Store to the relay's Log (plus LogHead and
// LogWaiter: it LISTENs for the store's append notifications on a connection
// of its own). Close it after the relay stops.
type StoreLog struct {
	Store  *eventstore.Store
	listen *pgx.Conn
}

var (
	_ Log        = (*StoreLog)(nil)
	_ LogHead    = (*StoreLog)(nil)
	_ LogWaiter  = (*StoreLog)(nil)
	_ LogChecker = (*StoreLog)(nil)
)

// CheckLog refuses a store restored into another cluster whose transaction
// counter is behind its events (eventstore.CheckTxCounter).
func (l *StoreLog) CheckLog(ctx context.Context) error {
	return eventstore.CheckTxCounter(ctx, l.Store.Pool())
}

// NewStoreLog returns the relay's view of store.
func NewStoreLog(store *eventstore.Store) *StoreLog { return &StoreLog{Store: store} }

// ReadLog reads the commit-ordered global log after the cursor.
func (l *StoreLog) ReadLog(ctx context.Context, after Cursor, limit int) ([]LogEvent, error) {
	rs, err := l.Store.ReadAll(ctx, eventstore.Cursor{TxID: after.TxID, Position: after.Position}, limit)
	if err != nil {
		return nil, err
	}
	out := make([]LogEvent, len(rs))
	for i := range rs {
		e := &rs[i]
		out[i] = LogEvent{
			Cursor:        Cursor{TxID: e.TxID, Position: e.Position},
			StreamID:      e.StreamID,
			StreamType:    e.StreamType,
			StreamVersion: e.Version,
			EventID:       e.ID.String(),
			EventType:     e.Type,
			Fingerprint:   string(e.Fingerprint[:]),
			Payload:       e.Payload,
			CorrelationID: e.CorrelationID,
			CausationID:   e.CausationID,
			UserID:        e.UserID,
			TraceParent:   e.TraceParent,
			RecordedAt:    e.RecordedAt,
		}
	}
	return out, nil
}

// WriterSchema returns the stored writer schema's JSON.
func (l *StoreLog) WriterSchema(ctx context.Context, fingerprint string) (string, error) {
	var fp eventstore.Fingerprint
	if len(fingerprint) != len(fp) {
		return "", fmt.Errorf("fingerprint %s: %w", hex.EncodeToString([]byte(fingerprint)), ErrUnknownSchema)
	}
	copy(fp[:], fingerprint)
	sc, err := l.Store.Schema(ctx, fp)
	if err != nil {
		return "", err
	}
	return sc.JSON, nil
}

// HeadPosition returns the highest event position (0 for an empty log).
func (l *StoreLog) HeadPosition(ctx context.Context) (int64, error) {
	var p int64
	if err := l.Store.Pool().QueryRow(ctx, `SELECT COALESCE(max(position), 0) FROM events`).Scan(&p); err != nil {
		return 0, fmt.Errorf("head position: %w", err)
	}
	return p, nil
}

// WaitForAppend waits for the store's NOTIFY (at most max).
func (l *StoreLog) WaitForAppend(ctx context.Context, max time.Duration) error {
	if l.listen == nil || l.listen.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, l.Store.Pool().Config().ConnConfig.Copy())
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+eventstore.NotifyChannel); err != nil {
			conn.Close(ctx)
			return fmt.Errorf("listen: %w", err)
		}
		l.listen = conn
		return nil // an append may have been missed while connecting
	}
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	_, err := l.listen.WaitForNotification(wctx)
	if err != nil && wctx.Err() != nil {
		if l.listen.IsClosed() {
			l.listen = nil
		}
		return nil
	}
	return err
}

// Close closes the LISTEN connection.
func (l *StoreLog) Close(ctx context.Context) error {
	if l.listen == nil {
		return nil
	}
	err := l.listen.Close(ctx)
	l.listen = nil
	return err
}
