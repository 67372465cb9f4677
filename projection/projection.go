package projection

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Schema is the PostgreSQL schema holding every read model.
const Schema = "read"

// Errors.
var (
	// ErrGap: an event's stream version is beyond the next expected one.
	ErrGap = errors.New("projection: gap in stream versions")
	// ErrUnknownProjection: no projection has that name.
	ErrUnknownProjection = errors.New("projection: unknown projection")
	// ErrRebuildRunning: another rebuild of the projection holds its lock.
	ErrRebuildRunning = errors.New("projection: rebuild already running")
)

// GapError reports an event that arrived before its predecessors.
type GapError struct {
	Projection string
	Stream     string
	Have, Got  int64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("projection %s: stream %s at version %d got version %d", e.Projection, e.Stream, e.Have, e.Got)
}

// Unwrap returns ErrGap.
func (e *GapError) Unwrap() error { return ErrGap }

// Event is one decoded event, from Kafka or from a replay of the store.
type Event struct {
	ID         string
	Type       string // Avro full name
	StreamID   string
	StreamType string
	Version    int64 // version within the stream, from 1
	Position   int64 // global log position
	RecordedAt time.Time
	Data       any // the current generated Go type (pointer)
}

// Tables maps a projection's logical table names to the physical names to use.
type Tables map[string]string

// Get returns the physical name of the logical table; it panics on a name the
// projection did not declare (a programming error).
func (t Tables) Get(logical string) string {
	n, ok := t[logical]
	if !ok {
		panic("projection: undeclared table " + logical)
	}
	return n
}

// Projection is one read model.
type Projection interface {
	Name() string
	EventTypes() []string
	Tables() []string
	Create(ctx context.Context, tx pgx.Tx, t Tables) error
	Apply(ctx context.Context, tx pgx.Tx, t Tables, ev Event) error
}

// streamsTable is the logical name of a projection's version-tracking table.
func streamsTable(p Projection) string { return p.Name() + "__streams" }

// allTables are the projection's own tables plus its tracking table.
func allTables(p Projection) []string {
	return append(append([]string(nil), p.Tables()...), streamsTable(p))
}

// liveTables maps every table to its live name.
func liveTables(p Projection) Tables { return tablesWith(p, "") }

// shadowTables maps every table to its shadow name.
func shadowTables(p Projection) Tables { return tablesWith(p, shadowSuffix) }

const shadowSuffix = "__shadow"

func tablesWith(p Projection, suffix string) Tables {
	t := Tables{}
	for _, n := range allTables(p) {
		t[n] = qualify(n + suffix)
	}
	return t
}

func qualify(table string) string { return pgx.Identifier{Schema, table}.Sanitize() }

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

func validName(n string) error {
	if n == "" || strings.ContainsAny(n, "\"\x00") || len(n)+len(shadowSuffix)+len("__streams") > 63 {
		return fmt.Errorf("projection: invalid table name %q", n)
	}
	return nil
}
