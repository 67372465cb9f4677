-- Strata saga engine, version 2.
--
-- Instances store their step by name and the version of the definition they
-- run on, so a deploy that reorders, inserts or removes steps cannot move an
-- in-flight saga to another step (the engine parks an instance whose version
-- or step it does not know). parked_from remembers the status a PARKED saga
-- had, so an operator's retry resumes it there.
ALTER TABLE saga.instances
    ADD COLUMN step_name          text    NOT NULL DEFAULT '',
    ADD COLUMN definition_version integer NOT NULL DEFAULT 1,
    ADD COLUMN parked_from        text    NOT NULL DEFAULT '';

-- Existing rows: the step in progress is the step of the newest action or
-- compensation row of the step log (the command in flight, or the
-- compensation that failed); sagas parked before this version parked in
-- compensation. Rows written before this version ran on version 1.
UPDATE saga.instances i SET step_name = coalesce((
    SELECT s.step FROM saga.steps s
    WHERE s.saga_id = i.id AND s.kind IN ('action', 'compensation')
    ORDER BY s.seq DESC LIMIT 1), '')
WHERE i.status IN ('RUNNING', 'COMPENSATING', 'PARKED');
UPDATE saga.instances SET parked_from = 'COMPENSATING' WHERE status = 'PARKED';

-- The outbox relay claims rows with a lease (claimed_until) in a short
-- statement and deletes them once the transport accepted them: no
-- transaction stays open while it waits for Kafka.
ALTER TABLE saga.outbox
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claim_token   uuid;
