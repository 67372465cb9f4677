package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stratahq/strata/compat"
)

// Latest stands for the latest version wherever a version number is taken.
const Latest = -1

// Modes a subject or the whole registry can be in.
const (
	ModeReadWrite = "READWRITE"
	ModeReadOnly  = "READONLY"
	// ModeImport admits registrations that carry the schema id (and
	// version) another registry gave them, without compatibility checks, so
	// a team can move here keeping its ids.
	ModeImport = "IMPORT"
)

// Advisory lock namespaces (first key of the two-key form).
const (
	lockSubject     int32 = 0x52470001 // registration and deletion in one subject
	lockFingerprint int32 = 0x52470002 // creation of one schema id
	lockSchemaID    int32 = 0x52470003 // import of one explicit schema id
)

// maxReferenceDepth bounds how deep references may nest.
const maxReferenceDepth = 32

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store keeps the registry in PostgreSQL (tables in the schema "registry",
// created by Migrate).
type Store struct {
	pool    *pgxpool.Pool
	checker Checker

	mu     sync.Mutex
	parsed map[int]*Schema // schemas are immutable once they have an id
}

// NewStore returns a Store on pool; checker nil means compat.Check.
func NewStore(pool *pgxpool.Pool, checker Checker) *Store {
	if checker == nil {
		checker = CheckerFunc(compat.Check)
	}
	return &Store{pool: pool, checker: checker, parsed: map[int]*Schema{}}
}

// SubjectVersion is one version of a subject.
type SubjectVersion struct {
	Subject string
	Version int
	Deleted bool
	Schema  *Schema
}

// versionRow is one row of registry.subject_versions.
type versionRow struct {
	Version  int
	SchemaID int
	Deleted  bool
}

// storeError wraps a backend failure as Confluent's 50001, keeping the cause.
type storeError struct {
	api   *Error
	cause error
}

func (e *storeError) Error() string   { return e.cause.Error() }
func (e *storeError) Unwrap() []error { return []error{e.api, e.cause} }

func backend(op string, err error) error {
	var re *Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &storeError{api: newError(CodeStoreError, "Error in the backend data store: %s", op), cause: fmt.Errorf("%s: %w", op, err)}
}

func lockKey(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32())
}

// inTx runs fn in one transaction.
func (st *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, st.pool, fn)
}

// Subjects lists subjects with a live version (with deleted, also subjects
// whose versions are all soft-deleted), sorted.
func (st *Store) Subjects(ctx context.Context, deleted bool) ([]string, error) {
	rows, err := st.pool.Query(ctx, `SELECT DISTINCT subject FROM registry.subject_versions
		WHERE $1 OR NOT deleted ORDER BY subject`, deleted)
	if err != nil {
		return nil, backend("list subjects", err)
	}
	subjects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, backend("list subjects", err)
	}
	return subjects, nil
}

func (st *Store) versionRows(ctx context.Context, q querier, subject string) ([]versionRow, error) {
	rows, err := q.Query(ctx, `SELECT version, schema_id, deleted FROM registry.subject_versions
		WHERE subject = $1 ORDER BY version`, subject)
	if err != nil {
		return nil, backend("read subject versions", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[versionRow])
	if err != nil {
		return nil, backend("read subject versions", err)
	}
	return vs, nil
}

func live(rows []versionRow) []versionRow {
	var out []versionRow
	for _, r := range rows {
		if !r.Deleted {
			out = append(out, r)
		}
	}
	return out
}

// Versions lists the version numbers of subject, oldest first; with deleted,
// soft-deleted ones too. A subject with none is 40401.
func (st *Store) Versions(ctx context.Context, subject string, deleted bool) ([]int, error) {
	rows, err := st.versionRows(ctx, st.pool, subject)
	if err != nil {
		return nil, err
	}
	if !deleted {
		rows = live(rows)
	}
	if len(rows) == 0 {
		return nil, errSubjectNotFound(subject)
	}
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.Version
	}
	return out, nil
}

// findVersion picks version (or Latest) among rows; deleted admits
// soft-deleted ones.
func findVersion(subject string, rows []versionRow, version int, deleted bool) (versionRow, error) {
	candidates := rows
	if !deleted {
		candidates = live(rows)
	}
	if len(candidates) == 0 {
		return versionRow{}, errSubjectNotFound(subject)
	}
	if version == Latest {
		return candidates[len(candidates)-1], nil
	}
	for _, r := range candidates {
		if r.Version == version {
			return r, nil
		}
	}
	return versionRow{}, errVersionNotFound(subject, version)
}

// Version returns one version of subject (version may be Latest).
func (st *Store) Version(ctx context.Context, subject string, version int, deleted bool) (SubjectVersion, error) {
	rows, err := st.versionRows(ctx, st.pool, subject)
	if err != nil {
		return SubjectVersion{}, err
	}
	r, err := findVersion(subject, rows, version, deleted)
	if err != nil {
		return SubjectVersion{}, err
	}
	s, err := st.loadSchema(ctx, st.pool, r.SchemaID, 0)
	if err != nil {
		return SubjectVersion{}, err
	}
	return SubjectVersion{Subject: subject, Version: r.Version, Deleted: r.Deleted, Schema: s}, nil
}

// SchemaByID returns the schema with the global id. Ids stay resolvable after
// their subject versions are deleted, even permanently: stored events and
// Kafka messages carry them.
func (st *Store) SchemaByID(ctx context.Context, id int) (*Schema, error) {
	return st.loadSchema(ctx, st.pool, id, 0)
}

// VersionsByID lists the subject versions that hold schema id.
func (st *Store) VersionsByID(ctx context.Context, id int, deleted bool) ([]SubjectVersion, error) {
	if _, err := st.loadSchema(ctx, st.pool, id, 0); err != nil {
		return nil, err
	}
	rows, err := st.pool.Query(ctx, `SELECT subject, version, deleted FROM registry.subject_versions
		WHERE schema_id = $1 AND ($2 OR NOT deleted) ORDER BY subject, version`, id, deleted)
	if err != nil {
		return nil, backend("read versions of schema", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SubjectVersion, error) {
		var sv SubjectVersion
		err := r.Scan(&sv.Subject, &sv.Version, &sv.Deleted)
		return sv, err
	})
	if err != nil {
		return nil, backend("read versions of schema", err)
	}
	return out, nil
}

// ReferencedBy lists the ids of the schemas that reference subject's version.
func (st *Store) ReferencedBy(ctx context.Context, subject string, version int) ([]int, error) {
	rows, err := st.versionRows(ctx, st.pool, subject)
	if err != nil {
		return nil, err
	}
	r, err := findVersion(subject, rows, version, false)
	if err != nil {
		return nil, err
	}
	q, err := st.pool.Query(ctx, `SELECT DISTINCT schema_id FROM registry.schema_references
		WHERE subject = $1 AND version = $2 ORDER BY schema_id`, subject, r.Version)
	if err != nil {
		return nil, backend("read referrers", err)
	}
	ids, err := pgx.CollectRows(q, pgx.RowTo[int])
	if err != nil {
		return nil, backend("read referrers", err)
	}
	return ids, nil
}

// loadSchema reads and parses schema id with its references (cached: a schema
// never changes once it has an id).
func (st *Store) loadSchema(ctx context.Context, q querier, id, depth int) (*Schema, error) {
	st.mu.Lock()
	s, ok := st.parsed[id]
	st.mu.Unlock()
	if ok {
		return s, nil
	}
	if depth > maxReferenceDepth {
		return nil, newError(CodeInvalidSchema, "Invalid schema: references nest deeper than %d", maxReferenceDepth)
	}
	s = &Schema{ID: id}
	var fp []byte
	err := q.QueryRow(ctx, `SELECT schema_type, schema, canonical, fingerprint FROM registry.schemas WHERE id = $1`, id).
		Scan(&s.Type, &s.Text, &s.Canonical, &fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSchemaNotFound()
	}
	if err != nil {
		return nil, backend(fmt.Sprintf("read schema %d", id), err)
	}
	copy(s.Fingerprint[:], fp)
	rows, err := q.Query(ctx, `SELECT name, subject, version, schema_ref_id FROM registry.schema_references
		WHERE schema_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, backend(fmt.Sprintf("read references of schema %d", id), err)
	}
	type refRow struct {
		Reference
		ID *int
	}
	refRows, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refRow, error) {
		var rr refRow
		err := r.Scan(&rr.Name, &rr.Subject, &rr.Version, &rr.ID)
		return rr, err
	})
	if err != nil {
		return nil, backend(fmt.Sprintf("read references of schema %d", id), err)
	}
	for _, rr := range refRows {
		s.References = append(s.References, rr.Reference)
		if rr.ID == nil { // not recorded: resolve by subject and version
			refID, err := st.referencedID(ctx, q, rr.Reference)
			if err != nil {
				return nil, err
			}
			rr.ID = &refID
		}
		s.refIDs = append(s.refIDs, *rr.ID)
	}
	if s.deps, err = st.dependencies(ctx, q, s.refIDs, depth); err != nil {
		return nil, err
	}
	if s.Avro, err = parseAvro(s.Text, s.deps); err != nil {
		return nil, fmt.Errorf("stored schema %d no longer parses: %w", id, err)
	}
	st.mu.Lock()
	st.parsed[id] = s
	st.mu.Unlock()
	return s, nil
}

// dependencies returns the texts a schema referencing the schemas ids must
// be parsed after, in dependency order, each schema once.
func (st *Store) dependencies(ctx context.Context, q querier, ids []int, depth int) ([]string, error) {
	var deps []string
	seen := map[string]bool{}
	for _, id := range ids {
		dep, err := st.loadSchema(ctx, q, id, depth+1)
		if err != nil {
			return nil, err
		}
		for _, text := range append(append([]string(nil), dep.deps...), dep.Text) {
			if !seen[text] {
				seen[text] = true
				deps = append(deps, text)
			}
		}
	}
	return deps, nil
}

// referencedID resolves a stored reference (its version is concrete).
func (st *Store) referencedID(ctx context.Context, q querier, ref Reference) (int, error) {
	var id int
	err := q.QueryRow(ctx, `SELECT schema_id FROM registry.subject_versions WHERE subject = $1 AND version = $2`,
		ref.Subject, ref.Version).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, newError(CodeInvalidSchema, "Invalid schema: reference %q to subject '%s' version %d: no such version", ref.Name, ref.Subject, ref.Version)
	}
	if err != nil {
		return 0, backend("resolve reference", err)
	}
	return id, nil
}

// prepare validates and parses a schema sent by a client: its type, its
// references (version -1 becomes the subject's latest live version) and its text.
func (st *Store) prepare(ctx context.Context, q querier, text, schemaType string, refs []Reference) (*Schema, error) {
	typ, err := normalizeType(schemaType)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, newError(CodeInvalidSchema, "Invalid schema: empty")
	}
	s := &Schema{Type: typ, Text: text}
	for _, ref := range refs {
		if ref.Name == "" || ref.Subject == "" {
			return nil, newError(CodeInvalidSchema, "Invalid schema: a reference needs a name and a subject")
		}
		if ref.Version == Latest {
			rows, err := st.versionRows(ctx, q, ref.Subject)
			if err != nil {
				return nil, err
			}
			r, err := findVersion(ref.Subject, rows, Latest, false)
			if err != nil {
				return nil, newError(CodeInvalidSchema, "Invalid schema: reference %q: %s", ref.Name, err.(*Error).Message)
			}
			ref.Version = r.Version
		} else if ref.Version <= 0 {
			return nil, newError(CodeInvalidSchema, "Invalid schema: reference %q has version %d", ref.Name, ref.Version)
		}
		id, err := st.referencedID(ctx, q, ref)
		if err != nil {
			return nil, err
		}
		s.References = append(s.References, ref)
		s.refIDs = append(s.refIDs, id)
	}
	if s.deps, err = st.dependencies(ctx, q, s.refIDs, 0); err != nil {
		return nil, err
	}
	if s.Avro, err = parseAvro(text, s.deps); err != nil {
		return nil, err
	}
	if err := s.identify(); err != nil {
		return nil, newError(CodeInvalidSchema, "Invalid schema: %v", err)
	}
	return s, nil
}

// idByFingerprint returns the id of the schema with fp, or 0.
func idByFingerprint(ctx context.Context, q querier, fp [32]byte) (int, error) {
	var id int
	err := q.QueryRow(ctx, `SELECT id FROM registry.schemas WHERE fingerprint = $1 ORDER BY id LIMIT 1`, fp[:]).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, backend("look up schema by fingerprint", err)
	}
	return id, nil
}

// RegisterRequest is a schema to register under a subject.
type RegisterRequest struct {
	Subject    string
	Schema     string
	SchemaType string
	References []Reference
	// ID and Version are the ones another registry gave the schema: only in
	// IMPORT mode (which requires ID), 42205 otherwise.
	ID, Version int
}

// Register adds the schema to the subject unless the subject already has it
// live, and returns its global id and version. A schema already known under
// another subject keeps its id. The new schema must be compatible with the
// subject's live versions at the subject's level (else 409). Registrations in
// one subject are serialised by an advisory lock, and the creation of an id by
// another on the schema's fingerprint, so concurrent registrations never give
// one schema two ids nor one subject two versions of a schema.
func (st *Store) Register(ctx context.Context, req RegisterRequest) (id, version int, err error) {
	mode, err := st.mode(ctx, req.Subject)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case mode == ModeReadOnly:
		return 0, 0, newError(CodeOperationNotPermitted, "Subject %s is in read-only mode", req.Subject)
	case mode == ModeImport:
		return st.importSchema(ctx, req)
	case req.ID != 0 || req.Version != 0:
		return 0, 0, newError(CodeOperationNotPermitted, "Subject %s is not in import mode: a schema id or version cannot be given", req.Subject)
	}
	err = st.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSubject, lockKey(req.Subject)); err != nil {
			return backend("lock subject", err)
		}
		s, err := st.prepare(ctx, tx, req.Schema, req.SchemaType, req.References)
		if err != nil {
			return err
		}
		rows, err := st.versionRows(ctx, tx, req.Subject)
		if err != nil {
			return err
		}
		if id, err = idByFingerprint(ctx, tx, s.Fingerprint); err != nil {
			return err
		}
		lives := live(rows)
		for _, r := range lives {
			if id != 0 && r.SchemaID == id {
				version = r.Version
				return nil
			}
		}
		level, err := st.level(ctx, tx, req.Subject)
		if err != nil {
			return err
		}
		if problems, err := st.check(ctx, tx, level, lives, s); err != nil {
			return err
		} else if len(problems) > 0 {
			return incompatibleError(req.Subject, level, lives, problems)
		}
		if id == 0 {
			if id, err = insertSchema(ctx, tx, s); err != nil {
				return err
			}
		}
		version, err = addVersion(ctx, tx, req.Subject, rows, 0, id)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("register under %q: %w", req.Subject, err)
	}
	return id, version, nil
}

// insertSchema gives s an id, or finds the id a concurrent registration in
// another subject just gave it.
func insertSchema(ctx context.Context, tx pgx.Tx, s *Schema) (int, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockFingerprint, lockKey(string(s.Fingerprint[:]))); err != nil {
		return 0, backend("lock fingerprint", err)
	}
	id, err := idByFingerprint(ctx, tx, s.Fingerprint)
	if err != nil || id != 0 {
		return id, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO registry.schemas (fingerprint, schema_type, schema, canonical)
		VALUES ($1, $2, $3, $4) RETURNING id`, s.Fingerprint[:], s.Type, s.Text, s.Canonical).Scan(&id)
	if err != nil {
		return 0, backend("insert schema", err)
	}
	return id, insertReferences(ctx, tx, s, id)
}

// insertReferences stores the references of s, given the id id.
func insertReferences(ctx context.Context, tx pgx.Tx, s *Schema, id int) error {
	for i, ref := range s.References {
		if _, err := tx.Exec(ctx, `INSERT INTO registry.schema_references (schema_id, position, name, subject, version, schema_ref_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, i, ref.Name, ref.Subject, ref.Version, s.refIDs[i]); err != nil {
			return backend("insert schema reference", err)
		}
	}
	return nil
}

// addVersion adds schema id to subject as version (0: after the highest
// version the subject ever had, rows being all its versions).
func addVersion(ctx context.Context, tx pgx.Tx, subject string, rows []versionRow, version, id int) (int, error) {
	if version == 0 {
		version = 1
		if len(rows) > 0 {
			version = rows[len(rows)-1].Version + 1
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO registry.subject_versions (subject, version, schema_id) VALUES ($1, $2, $3)`,
		subject, version, id); err != nil {
		return 0, backend("insert subject version", err)
	}
	return version, nil
}

// check runs the checker against the given versions (oldest first).
func (st *Store) check(ctx context.Context, q querier, level compat.Level, versions []versionRow, next *Schema) ([]compat.Incompatibility, error) {
	previous := make([]avro.Schema, 0, len(versions))
	for _, r := range versions {
		s, err := st.loadSchema(ctx, q, r.SchemaID, 0)
		if err != nil {
			return nil, err
		}
		previous = append(previous, s.Avro)
	}
	return st.checker.Check(level, previous, next.Avro), nil
}

// describe formats each problem with the subject version it was found against.
func describe(versions []versionRow, problems []compat.Incompatibility) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		v := 0
		if p.Version >= 1 && p.Version <= len(versions) {
			v = versions[p.Version-1].Version
		}
		out[i] = fmt.Sprintf("{errorType:'%s', location:'%s', description:'%s', oldSchemaVersion:%d, direction:'%s'}",
			p.Type, p.Location, p.Message, v, p.Direction)
	}
	return out
}

func incompatibleError(subject string, level compat.Level, versions []versionRow, problems []compat.Incompatibility) *Error {
	return newError(CodeIncompatibleSchema,
		"Schema being registered is incompatible with an earlier schema for subject %q, details: [%s, {compatibility:'%s'}]",
		subject, strings.Join(describe(versions, problems), ", "), level)
}

// LookupRequest asks whether a schema is registered under a subject.
type LookupRequest struct {
	Subject    string
	Schema     string
	SchemaType string
	References []Reference
	Deleted    bool
}

// Lookup returns the version of subject that holds the schema: 40401 when the
// subject has no versions, 40403 when none holds the schema.
func (st *Store) Lookup(ctx context.Context, req LookupRequest) (SubjectVersion, error) {
	rows, err := st.versionRows(ctx, st.pool, req.Subject)
	if err != nil {
		return SubjectVersion{}, err
	}
	if !req.Deleted {
		rows = live(rows)
	}
	if len(rows) == 0 {
		return SubjectVersion{}, errSubjectNotFound(req.Subject)
	}
	s, err := st.prepare(ctx, st.pool, req.Schema, req.SchemaType, req.References)
	if err != nil {
		return SubjectVersion{}, err
	}
	id, err := idByFingerprint(ctx, st.pool, s.Fingerprint)
	if err != nil {
		return SubjectVersion{}, err
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if id != 0 && rows[i].SchemaID == id {
			stored, err := st.loadSchema(ctx, st.pool, id, 0)
			if err != nil {
				return SubjectVersion{}, err
			}
			return SubjectVersion{Subject: req.Subject, Version: rows[i].Version, Deleted: rows[i].Deleted, Schema: stored}, nil
		}
	}
	return SubjectVersion{}, errSchemaNotFound()
}

// CompatibilityRequest asks whether a schema may follow a subject's versions.
type CompatibilityRequest struct {
	Subject    string
	Schema     string
	SchemaType string
	References []Reference
	// Version is one version to check against, Latest, or 0 for every live
	// version as the subject's level prescribes.
	Version int
}

// CheckCompatibility returns the problems the schema has at the subject's
// level (empty: compatible) and that level. A subject without versions is
// compatible with anything, except that naming a concrete version of it is
// 40401.
func (st *Store) CheckCompatibility(ctx context.Context, req CompatibilityRequest) ([]string, compat.Level, error) {
	s, err := st.prepare(ctx, st.pool, req.Schema, req.SchemaType, req.References)
	if err != nil {
		return nil, "", err
	}
	level, err := st.level(ctx, st.pool, req.Subject)
	if err != nil {
		return nil, "", err
	}
	rows, err := st.versionRows(ctx, st.pool, req.Subject)
	if err != nil {
		return nil, "", err
	}
	versions := live(rows)
	if req.Version != 0 {
		r, err := findVersion(req.Subject, rows, req.Version, false)
		var re *Error
		if errors.As(err, &re) && re.Code == CodeSubjectNotFound && req.Version == Latest {
			return nil, level, nil
		}
		if err != nil {
			return nil, "", err
		}
		versions = []versionRow{r}
	}
	problems, err := st.check(ctx, st.pool, level, versions, s)
	if err != nil {
		return nil, "", err
	}
	return describe(versions, problems), level, nil
}

// DeleteSubject soft-deletes every live version of subject, or with permanent
// removes the versions of a subject soft-deleted before (as Confluent: 40405
// otherwise) together with its config and mode. It returns the versions.
func (st *Store) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	if err := st.checkWritable(ctx, subject); err != nil {
		return nil, err
	}
	var deleted []int
	err := st.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSubject, lockKey(subject)); err != nil {
			return backend("lock subject", err)
		}
		rows, err := st.versionRows(ctx, tx, subject)
		if err != nil {
			return err
		}
		lives := live(rows)
		switch {
		case len(rows) == 0:
			return errSubjectNotFound(subject)
		case !permanent && len(lives) == 0:
			return newError(CodeSubjectSoftDeleted, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
		case permanent && len(lives) > 0:
			return newError(CodeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
		}
		target := lives
		if permanent {
			target = rows
		}
		for _, r := range target {
			deleted = append(deleted, r.Version)
		}
		if err := checkUnreferenced(ctx, tx, subject, deleted, permanent); err != nil {
			return err
		}
		if permanent {
			if _, err := tx.Exec(ctx, `DELETE FROM registry.subject_versions WHERE subject = $1`, subject); err != nil {
				return backend("delete subject", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM registry.config WHERE subject = $1`, subject); err != nil {
				return backend("delete subject config", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM registry.mode WHERE subject = $1`, subject); err != nil {
				return backend("delete subject mode", err)
			}
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE registry.subject_versions SET deleted = true WHERE subject = $1`, subject); err != nil {
			return backend("soft-delete subject", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete subject %q: %w", subject, err)
	}
	return deleted, nil
}

// DeleteVersion soft-deletes one version (Latest: the latest live one), or
// with permanent removes a version soft-deleted before (40407 otherwise).
func (st *Store) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	if err := st.checkWritable(ctx, subject); err != nil {
		return 0, err
	}
	var deleted int
	err := st.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSubject, lockKey(subject)); err != nil {
			return backend("lock subject", err)
		}
		rows, err := st.versionRows(ctx, tx, subject)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return errSubjectNotFound(subject)
		}
		// a concrete version is found even when soft-deleted (so a second soft
		// delete is 40406); "latest" of a soft delete is the latest live one
		r, err := findVersion(subject, rows, version, permanent || version != Latest)
		if err != nil {
			return err
		}
		switch {
		case !permanent && r.Deleted:
			return newError(CodeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", subject, r.Version)
		case permanent && !r.Deleted:
			return newError(CodeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, r.Version)
		}
		if err := checkUnreferenced(ctx, tx, subject, []int{r.Version}, permanent); err != nil {
			return err
		}
		sql := `UPDATE registry.subject_versions SET deleted = true WHERE subject = $1 AND version = $2`
		if permanent {
			sql = `DELETE FROM registry.subject_versions WHERE subject = $1 AND version = $2`
		}
		if _, err := tx.Exec(ctx, sql, subject, r.Version); err != nil {
			return backend("delete version", err)
		}
		deleted = r.Version
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete %q version %d: %w", subject, version, err)
	}
	return deleted, nil
}

// checkUnreferenced refuses (42206) to delete versions another schema
// references: for a soft delete, a schema in a live version; for a permanent
// one, a schema in any version.
func checkUnreferenced(ctx context.Context, tx pgx.Tx, subject string, versions []int, permanent bool) error {
	var referrer string
	err := tx.QueryRow(ctx, `SELECT sv.subject || ' version ' || sv.version
		FROM registry.schema_references r
		JOIN registry.subject_versions sv ON sv.schema_id = r.schema_id
		WHERE r.subject = $1 AND r.version = ANY($2) AND ($3 OR NOT sv.deleted)
		LIMIT 1`, subject, versions, permanent).Scan(&referrer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return backend("look for references", err)
	}
	return newError(CodeReferenceExists, "One or more references exist to the schema {subject=%s, versions=%v}: referenced by %s", subject, versions, referrer)
}

// level returns the subject's compatibility level, else the global one, else
// DefaultLevel.
func (st *Store) level(ctx context.Context, q querier, subject string) (compat.Level, error) {
	var l string
	err := q.QueryRow(ctx, `SELECT compatibility FROM registry.config WHERE subject IN ($1, '')
		ORDER BY subject = '' LIMIT 1`, subject).Scan(&l)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultLevel, nil
	}
	if err != nil {
		return "", backend("read compatibility level", err)
	}
	return compat.Level(l), nil
}

// Config returns the compatibility level of subject ("" for the global one).
// A subject without its own level is 40408 unless defaultToGlobal.
func (st *Store) Config(ctx context.Context, subject string, defaultToGlobal bool) (compat.Level, error) {
	if subject == "" || defaultToGlobal {
		return st.level(ctx, st.pool, subject)
	}
	return st.setting(ctx, "config", "compatibility", subject, func() error {
		return newError(CodeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject)
	})
}

// SetConfig sets the compatibility level of subject ("" for the global one).
func (st *Store) SetConfig(ctx context.Context, subject string, level string) (compat.Level, error) {
	l, err := parseLevel(level)
	if err != nil {
		return "", err
	}
	if _, err := st.pool.Exec(ctx, `INSERT INTO registry.config (subject, compatibility) VALUES ($1, $2)
		ON CONFLICT (subject) DO UPDATE SET compatibility = EXCLUDED.compatibility`, subject, string(l)); err != nil {
		return "", backend("write compatibility level", err)
	}
	return l, nil
}

// DeleteConfig removes the level of subject ("": the global one, which goes
// back to DefaultLevel) and returns the level it had.
func (st *Store) DeleteConfig(ctx context.Context, subject string) (compat.Level, error) {
	var old string
	err := st.pool.QueryRow(ctx, `DELETE FROM registry.config WHERE subject = $1 RETURNING compatibility`, subject).Scan(&old)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && subject == "":
		return DefaultLevel, nil
	case errors.Is(err, pgx.ErrNoRows):
		return "", newError(CodeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject)
	case err != nil:
		return "", backend("delete compatibility level", err)
	}
	return compat.Level(old), nil
}

func (st *Store) setting(ctx context.Context, table, column, subject string, missing func() error) (compat.Level, error) {
	var v string
	err := st.pool.QueryRow(ctx, `SELECT `+column+` FROM registry.`+table+` WHERE subject = $1`, subject).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", missing()
	}
	if err != nil {
		return "", backend("read "+table, err)
	}
	return compat.Level(v), nil
}

// Mode returns the mode of subject ("" for the global one). A subject without
// its own mode is 40409 unless defaultToGlobal.
func (st *Store) Mode(ctx context.Context, subject string, defaultToGlobal bool) (string, error) {
	if subject == "" || defaultToGlobal {
		return st.mode(ctx, subject)
	}
	m, err := st.setting(ctx, "mode", "mode", subject, func() error {
		return newError(CodeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject)
	})
	return string(m), err
}

func (st *Store) mode(ctx context.Context, subject string) (string, error) {
	var m string
	err := st.pool.QueryRow(ctx, `SELECT mode FROM registry.mode WHERE subject IN ($1, '')
		ORDER BY subject = '' LIMIT 1`, subject).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return ModeReadWrite, nil
	}
	if err != nil {
		return "", backend("read mode", err)
	}
	return m, nil
}

// SetMode sets the mode of subject ("" for the global one): READWRITE,
// READONLY or IMPORT (READONLY_OVERRIDE is not supported: 42204). IMPORT needs
// an empty registry (global) or subject, soft-deleted versions counting,
// unless force.
func (st *Store) SetMode(ctx context.Context, subject, mode string, force bool) (string, error) {
	m := strings.ToUpper(strings.TrimSpace(mode))
	if m != ModeReadWrite && m != ModeReadOnly && m != ModeImport {
		return "", newError(CodeInvalidMode, "Invalid mode %q. Valid values are READWRITE, READONLY and IMPORT", mode)
	}
	if m == ModeImport && !force {
		var found bool
		if err := st.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM registry.subject_versions WHERE $1 = '' OR subject = $1)`,
			subject).Scan(&found); err != nil {
			return "", backend("read subjects", err)
		}
		if found {
			return "", newError(CodeOperationNotPermitted, "Cannot import since found existing subjects (set force=true to import into a registry or subject that has versions)")
		}
	}
	if _, err := st.pool.Exec(ctx, `INSERT INTO registry.mode (subject, mode) VALUES ($1, $2)
		ON CONFLICT (subject) DO UPDATE SET mode = EXCLUDED.mode`, subject, m); err != nil {
		return "", backend("write mode", err)
	}
	return m, nil
}

// DeleteMode removes the mode of subject and returns the one it had.
func (st *Store) DeleteMode(ctx context.Context, subject string) (string, error) {
	var old string
	err := st.pool.QueryRow(ctx, `DELETE FROM registry.mode WHERE subject = $1 RETURNING mode`, subject).Scan(&old)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && subject == "":
		return ModeReadWrite, nil
	case errors.Is(err, pgx.ErrNoRows):
		return "", newError(CodeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject)
	case err != nil:
		return "", backend("delete mode", err)
	}
	return old, nil
}

// checkWritable refuses writes (42205) to a subject in READONLY mode.
func (st *Store) checkWritable(ctx context.Context, subject string) error {
	m, err := st.mode(ctx, subject)
	if err != nil {
		return err
	}
	if m == ModeReadOnly {
		return newError(CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	return nil
}
