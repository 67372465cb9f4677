package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratahq/strata/eventstore/internal/db"
)

// Handler receives a subscription's events in global-log order, a batch at a
// time. Returning an error stops the subscription with that error.
type Handler func(ctx context.Context, events []RecordedEvent) error

// SubscribeOptions configures Subscribe.
type SubscribeOptions struct {
	// From is the cursor to start after (a loaded checkpoint, or Start).
	From Cursor
	// Types, when set, restricts the subscription to these event types.
	Types []string
	// BatchSize overrides Config.BatchSize.
	BatchSize int
	// PollInterval overrides Config.PollInterval.
	PollInterval time.Duration
}

// Subscribe delivers every event of the global log after opts.From to handle,
// exactly once each and in (TxID, Position) order: first the backlog
// (catch-up), then new events as they commit (live). It wakes on NOTIFY from
// appends (a dedicated LISTEN connection), on appends made through this Store,
// and at least every PollInterval, so latency stays bounded even when readers
// are held back by a transaction that sends no notification. It returns when
// ctx is done (with ctx's error) or handle fails (with its error). Saving a
// checkpoint is the handler's choice (SaveCheckpoint, or SaveCheckpointTx in
// the handler's own transaction).
func (s *Store) Subscribe(ctx context.Context, opts SubscribeOptions, handle Handler) error {
	if handle == nil {
		return fmt.Errorf("subscribe: %w: nil handler", ErrInvalidArgument)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = s.cfg.BatchSize
	}
	poll := opts.PollInterval
	if poll <= 0 {
		poll = s.cfg.PollInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	notified := make(chan struct{}, 1)
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		s.listen(ctx, notified, poll)
	}()
	defer func() { cancel(); <-listenDone }()

	cursor := opts.From
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		// Take the local wake channel before reading, so an append that commits
		// during the read is not missed.
		local := s.wakeChan()
		var events []RecordedEvent
		var err error
		if len(opts.Types) > 0 {
			events, err = s.ReadByType(ctx, opts.Types, cursor, time.Time{}, batch)
		} else {
			events, err = s.ReadAll(ctx, cursor, batch)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if IsRetryable(err) {
				if !sleep(ctx, poll) {
					return ctx.Err()
				}
				continue
			}
			return fmt.Errorf("subscribe: %w", err)
		}
		if len(events) > 0 {
			if err := handle(ctx, events); err != nil {
				return err
			}
			cursor = events[len(events)-1].Cursor()
			if len(events) == batch {
				continue // more backlog
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-notified:
		case <-local:
		case <-timer.C:
		}
	}
}

// listen holds a dedicated connection LISTENing on NotifyChannel and turns
// notifications into a non-blocking signal. On failure it retries every poll;
// meanwhile the subscription still polls.
func (s *Store) listen(ctx context.Context, notified chan<- struct{}, poll time.Duration) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, notified)
		if ctx.Err() != nil {
			return
		}
		_ = err // the poll keeps the subscription live; try again after a pause
		if !sleep(ctx, poll) {
			return
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, notified chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Close(cctx) //nolint:errcheck
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	// A notification may have been missed while connecting: wake once.
	select {
	case notified <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case notified <- struct{}{}:
		default:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// DBTX is what the checkpoint functions need: a pool, a connection or a
// transaction (pgx.Tx), so a consumer can save its checkpoint in the same
// transaction as its read model.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// LoadCheckpoint returns the cursor saved under name, or ErrNoCheckpoint.
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (Cursor, error) {
	row, err := s.q.GetCheckpoint(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, fmt.Errorf("load checkpoint %s: %w", name, ErrNoCheckpoint)
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	return Cursor{TxID: row.TxID, Position: row.Position}, nil
}

// SaveCheckpoint stores cursor under name (last write wins).
func (s *Store) SaveCheckpoint(ctx context.Context, name string, c Cursor) error {
	return s.SaveCheckpointTx(ctx, s.pool, name, c)
}

// SaveCheckpointTx stores cursor under name through tx, e.g. in the
// transaction that also writes a read model.
func (s *Store) SaveCheckpointTx(ctx context.Context, tx DBTX, name string, c Cursor) error {
	if name == "" {
		return fmt.Errorf("save checkpoint: %w: empty name", ErrInvalidArgument)
	}
	err := db.New(tx).SaveCheckpoint(ctx, db.SaveCheckpointParams{Name: name, TxID: c.TxID, Position: c.Position, UpdatedAt: s.cfg.Clock()})
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// DeleteCheckpoint removes the checkpoint stored under name.
func (s *Store) DeleteCheckpoint(ctx context.Context, name string) error {
	if err := s.q.DeleteCheckpoint(ctx, name); err != nil {
		return fmt.Errorf("delete checkpoint %s: %w", name, err)
	}
	return nil
}

// HeldBack describes how far readers of the global log are held back.
type HeldBack struct {
	// XMin is the oldest in-flight transaction id; events of it and later
	// transactions are not readable yet.
	XMin uint64
	// InFlight is false when no transaction is running at all.
	InFlight bool
	// Waiting counts committed events (capped at 100,000) that readers cannot
	// see yet because an older transaction is still open. Zero means nothing
	// is being held back right now.
	Waiting int64
	// Age is how long the transaction holding XMin has been open (0 when it
	// cannot be seen, e.g. another role's session without pg_read_all_stats).
	Age time.Duration
	// PID is that transaction's backend process id (0 for a prepared
	// transaction or when unknown).
	PID int32
}

// Held reports whether readers are held back right now: events wait behind an
// open transaction.
func (h HeldBack) Held() bool { return h.Waiting > 0 }

// GapAge is the held-gap metric: how long readers have been held back by the
// oldest open transaction, or 0 when no committed event is waiting behind it.
func (h HeldBack) GapAge() time.Duration {
	if !h.Held() {
		return 0
	}
	return h.Age
}

// HeldBack measures how far readers of the global log are held back by
// in-flight transactions (any database of the cluster counts). Export
// GapAge as the "held gap age" metric.
func (s *Store) HeldBack(ctx context.Context) (HeldBack, error) {
	row, err := s.q.HeldBack(ctx)
	if err != nil {
		return HeldBack{}, fmt.Errorf("held back: %w", err)
	}
	return HeldBack{
		XMin: row.Xmin, InFlight: row.InFlight, Waiting: row.Waiting,
		Age: time.Duration(row.AgeSeconds * float64(time.Second)), PID: row.Pid,
	}, nil
}
