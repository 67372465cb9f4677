-- IMPORT mode registers schemas under the ids another registry gave them. That
-- registry may have given two ids to schemas Strata counts as one (Confluent
-- keeps doc strings in its identity), so a fingerprint may now have several
-- ids; registration outside IMPORT mode still reuses the lowest.
ALTER TABLE registry.schemas DROP CONSTRAINT schemas_fingerprint_key;
CREATE INDEX schemas_fingerprint ON registry.schemas (fingerprint);
