package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrStreamArchived: the stream's events were moved to cold storage by
// package eventstore/archive (strata archive); strata restore brings them back.
var ErrStreamArchived = errors.New("eventstore: stream is archived")

// StreamArchivedError reports a read of a stream whose events are archived.
type StreamArchivedError struct {
	Stream    string
	ArchiveID string
}

func (e *StreamArchivedError) Error() string {
	return fmt.Sprintf("eventstore: stream %q is archived (archive %s; strata restore %s brings it back)", e.Stream, e.ArchiveID, e.ArchiveID)
}

// Unwrap returns ErrStreamArchived.
func (e *StreamArchivedError) Unwrap() error { return ErrStreamArchived }

// archived reports whether stream is recorded in archived_streams (the table
// package eventstore/archive creates; absent means nothing was archived).
// Readers call it only when a stream's row promises events that are not there.
func (s *Store) archived(ctx context.Context, stream string) error {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT archive_id FROM archived_streams WHERE stream_id = $1`, stream).Scan(&id)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return &StreamArchivedError{Stream: stream, ArchiveID: id}
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table
		return nil
	default:
		return fmt.Errorf("archived %s: %w", stream, err)
	}
}

// ArchivedRefusalMessage starts the error the archive package's trigger raises
// (SQLSTATE 55000) when an append reaches a stream recorded in archived_streams.
const ArchivedRefusalMessage = "eventstore: append to an archived stream"

func isArchivedRefusal(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55000" && strings.HasPrefix(pgErr.Message, ArchivedRefusalMessage)
}
