-- A reference also records the id of the schema it resolved to at
-- registration, so a schema id keeps resolving to the same types even after
-- the referenced subject version is permanently deleted and its number reused.
ALTER TABLE registry.schema_references
    ADD COLUMN schema_ref_id integer REFERENCES registry.schemas (id);

UPDATE registry.schema_references r
SET schema_ref_id = sv.schema_id
FROM registry.subject_versions sv
WHERE sv.subject = r.subject AND sv.version = r.version AND r.schema_ref_id IS NULL;
