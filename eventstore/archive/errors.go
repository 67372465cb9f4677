package archive

import (
	"errors"
	"fmt"

	"github.com/stratahq/strata/eventstore"
)

// Sentinel errors; typed errors unwrap to them.
var (
	// ErrArchived: the stream's events are in cold storage, not in the store.
	// It is eventstore.ErrStreamArchived, which the store's own reads return.
	ErrArchived = eventstore.ErrStreamArchived
	// ErrChecksum: an archive file or a stream does not match its recorded checksum.
	ErrChecksum = errors.New("archive: checksum mismatch")
	// ErrInvalidArchive: the archive directory or manifest is unusable.
	ErrInvalidArchive = errors.New("archive: invalid archive")
	// ErrInvalidArgument: the call itself is malformed.
	ErrInvalidArgument = errors.New("archive: invalid argument")
)

// ArchivedError says that a stream was archived, by which run and where.
// Restore it with `strata restore ARCHIVE_ID`, or read it through with
// Config.ReadThrough. Err, when set, is why reading through failed.
type ArchivedError struct {
	Stream    string
	ArchiveID string
	Dir       string // the archive's directory as configured (may be empty)
	Err       error
}

func (e *ArchivedError) Error() string {
	msg := fmt.Sprintf("stream %q is archived (archive %s", e.Stream, e.ArchiveID)
	if e.Dir != "" {
		msg += " in " + e.Dir
	}
	msg += "; strata restore " + e.ArchiveID + " brings it back)"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrArchived and the cause, if any.
func (e *ArchivedError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrArchived, e.Err}
	}
	return []error{ErrArchived}
}

// ChecksumError reports what did not match.
type ChecksumError struct {
	What      string // a file name or "stream <id>"
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("archive: checksum of %s: want %s, got %s", e.What, e.Want, e.Got)
}

// Unwrap returns ErrChecksum.
func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// ErrBelowReaders: a restore would put events back below the cursor of a
// reader (subscription or relay checkpoint) that passed their place in the
// global log while they were archived; that reader would never see them.
var ErrBelowReaders = errors.New("archive: restore below readers that never saw the events")
