package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// importSchema registers req under the id (and version) another registry gave
// it, in IMPORT mode: no compatibility check; an id already holding another
// schema, or a version already holding another id, is refused (42205);
// importing the same thing again answers as before. New ids handed out
// afterwards start above the highest imported one.
func (st *Store) importSchema(ctx context.Context, req RegisterRequest) (id, version int, err error) {
	if req.ID <= 0 {
		return 0, 0, newError(CodeOperationNotPermitted, "Subject %s is in import mode: the schema id to import must be given", req.Subject)
	}
	if req.Version < 0 {
		return 0, 0, newError(CodeInvalidVersion, "The specified version '%d' is not a valid version id", req.Version)
	}
	id, version = req.ID, req.Version
	err = st.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSubject, lockKey(req.Subject)); err != nil {
			return backend("lock subject", err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockSchemaID, int32(id)); err != nil {
			return backend("lock schema id", err)
		}
		s, err := st.prepare(ctx, tx, req.Schema, req.SchemaType, req.References)
		if err != nil {
			return err
		}
		var fp []byte
		err = tx.QueryRow(ctx, `SELECT fingerprint FROM registry.schemas WHERE id = $1`, id).Scan(&fp)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if err := insertSchemaWithID(ctx, tx, s, id); err != nil {
				return err
			}
		case err != nil:
			return backend("read schema", err)
		case string(fp) != string(s.Fingerprint[:]):
			return newError(CodeOperationNotPermitted, "Overwrite new schema with id %d is not permitted.", id)
		}
		rows, err := st.versionRows(ctx, tx, req.Subject)
		if err != nil {
			return err
		}
		for _, r := range rows {
			switch {
			case r.Version == version && r.SchemaID == id, version == 0 && r.SchemaID == id && !r.Deleted:
				version = r.Version // imported before
				return nil
			case r.Version == version:
				return newError(CodeOperationNotPermitted, "Subject %s already has version %d, with schema id %d", req.Subject, version, r.SchemaID)
			case r.SchemaID == id && !r.Deleted:
				return newError(CodeOperationNotPermitted, "Subject %s already has schema id %d, as version %d", req.Subject, id, r.Version)
			}
		}
		version, err = addVersion(ctx, tx, req.Subject, rows, version, id)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import under %q: %w", req.Subject, err)
	}
	return id, version, nil
}

// insertSchemaWithID stores s under id and moves the id sequence past it.
func insertSchemaWithID(ctx context.Context, tx pgx.Tx, s *Schema, id int) error {
	if _, err := tx.Exec(ctx, `INSERT INTO registry.schemas (id, fingerprint, schema_type, schema, canonical)
		VALUES ($1, $2, $3, $4, $5)`, id, s.Fingerprint[:], s.Type, s.Text, s.Canonical); err != nil {
		return backend("insert imported schema", err)
	}
	if err := insertReferences(ctx, tx, s, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT setval(seq, $1) FROM (SELECT pg_get_serial_sequence('registry.schemas', 'id')::regclass AS seq) s
		WHERE $1 > COALESCE(pg_sequence_last_value(seq), 0)`, id); err != nil {
		return backend("advance the schema id sequence", err)
	}
	return nil
}
