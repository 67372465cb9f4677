-- Strata saga engine, version 1: saga instances, their step log, deadlines and
-- the command outbox, in schema "saga". Applied once by saga.Migrate.
CREATE SCHEMA IF NOT EXISTS saga;

-- One row per saga instance. version is the optimistic-concurrency counter:
-- every transition updates WHERE version = <the version it read>.
CREATE TABLE saga.instances (
    id           text        PRIMARY KEY,
    saga_type    text        NOT NULL,
    status       text        NOT NULL,           -- RUNNING, COMPENSATING, COMPLETED, COMPENSATED, PARKED
    step         integer     NOT NULL,           -- index of the step in progress (forward or compensating)
    attempt      integer     NOT NULL DEFAULT 0, -- attempt of the compensation in progress
    pending_seq  integer     NOT NULL DEFAULT 0, -- steps.seq of the command in flight, 0 = none
    pending_cmd  text        NOT NULL DEFAULT '',-- command id in flight, '' = none
    data         jsonb       NOT NULL,           -- the saga's input (e.g. the order)
    results      jsonb       NOT NULL DEFAULT '{}'::jsonb, -- step name -> reply result
    failed_step  text        NOT NULL DEFAULT '',
    reason       text        NOT NULL DEFAULT '',
    version      bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX instances_status_idx ON saga.instances (status, updated_at);

-- The step log: one row per command sent (or per step passed without one).
CREATE TABLE saga.steps (
    saga_id     text        NOT NULL REFERENCES saga.instances (id),
    seq         integer     NOT NULL,            -- 1, 2, ... per saga
    step        text        NOT NULL,            -- step name
    kind        text        NOT NULL,            -- action | compensation
    attempt     integer     NOT NULL,
    command_id  text        NOT NULL,            -- '' when the step sent nothing
    command_type text       NOT NULL DEFAULT '',
    status      text        NOT NULL,            -- PENDING, SUCCEEDED, FAILED, TIMED_OUT
    reason      text        NOT NULL DEFAULT '',
    result      jsonb,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (saga_id, seq)
);
CREATE INDEX steps_command_idx ON saga.steps (command_id) WHERE command_id <> '';

-- At most one deadline per saga: kind 'timeout' (reply of command_id overdue)
-- or 'retry' (the back-off before the next compensation attempt is over).
CREATE TABLE saga.deadlines (
    saga_id    text        PRIMARY KEY REFERENCES saga.instances (id),
    command_id text        NOT NULL,
    kind       text        NOT NULL,
    due_at     timestamptz NOT NULL
);
CREATE INDEX deadlines_due_idx ON saga.deadlines (due_at);

-- Commands decided but not yet handed to the transport, written in the same
-- transaction as the transition that decided them.
CREATE TABLE saga.outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    saga_id    text        NOT NULL,
    command_id text        NOT NULL UNIQUE,
    topic      text        NOT NULL,
    msg_key    text        NOT NULL,
    msg_type   text        NOT NULL,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL,
    created_at timestamptz NOT NULL
);
