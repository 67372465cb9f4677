package evolve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/eventstore/archive"
	"github.com/stratahq/strata/registry/client"
)

// Querier is the part of a pgx pool or connection StoreWriters uses.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// StoreWriters returns every writer schema of the event store's
// event_schemas table. A database without the table (never migrated) holds
// none.
func StoreWriters(ctx context.Context, db Querier) ([]Writer, error) {
	rows, err := db.Query(ctx, `SELECT full_name, schema_json FROM event_schemas ORDER BY full_name, created_at, fingerprint`)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
			return nil, nil
		}
		return nil, fmt.Errorf("evolve: read event_schemas: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Writer, error) {
		w := Writer{Source: "event store"}
		return w, r.Scan(&w.Type, &w.JSON)
	})
	if err != nil {
		return nil, fmt.Errorf("evolve: read event_schemas: %w", err)
	}
	return out, nil
}

// ArchiveWriters returns the writer schemas of every archive manifest in
// dir (one folder per archive run). A missing dir holds none.
func ArchiveWriters(dir string) ([]Writer, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evolve: archives: %w", err)
	}
	var out []Writer
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), archive.ManifestFile)); err != nil {
			continue
		}
		m, err := archive.ReadManifest(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("evolve: archive %s: %w", e.Name(), err)
		}
		for _, s := range m.Schemas {
			out = append(out, Writer{Source: "archive " + m.ID, Type: s.Name, JSON: s.JSON})
		}
	}
	return out, nil
}

// Registry is the part of a Confluent-compatible registry client
// RegistryWriters uses; *srclient.SchemaRegistryClient satisfies it.
type Registry interface {
	GetSchemaVersions(subject string) ([]int, error)
	GetSchemaByVersion(subject string, version int) (*srclient.Schema, error)
}

// RegistryWriters returns every registered version of the given subjects
// (RecordNameStrategy: subject = type). Unregistered subjects have none.
func RegistryWriters(reg Registry, subjects []string) ([]Writer, error) {
	sorted := append([]string(nil), subjects...)
	sort.Strings(sorted)
	var out []Writer
	for _, subject := range sorted {
		nums, err := reg.GetSchemaVersions(subject)
		if client.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("evolve: registry: versions of %s: %w", subject, err)
		}
		for _, n := range nums {
			s, err := reg.GetSchemaByVersion(subject, n)
			if err != nil {
				return nil, fmt.Errorf("evolve: registry: %s version %d: %w", subject, n, err)
			}
			out = append(out, Writer{Source: fmt.Sprintf("registry version %d (id %d)", n, s.ID()), Type: subject, JSON: s.Schema()})
		}
	}
	return out, nil
}
