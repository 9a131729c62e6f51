-- Verification after erasure: one row per check of a task, kept for ever as evidence (never an
-- identifier). Scheduled in the transaction that ends the task (erased or nothing to erase), one
-- per `verify_after` delay of its connector instance; claimed like tasks (FOR UPDATE SKIP
-- LOCKED, lease with a fencing token) once the request is completed; the result recorded in one
-- transaction with its audit row. `found` reopens the task and the request; a check still undone
-- when its task reopens is `superseded` (new checks follow the new erasure).
CREATE TABLE verification_checks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       uuid NOT NULL REFERENCES requests (id),
    task_id          bigint NOT NULL REFERENCES tasks (id),
    connector        text NOT NULL,
    -- The request's generation when the check was scheduled.
    generation       integer NOT NULL,
    -- The `verify_after` delay this check is for, in seconds after the task ended.
    after_seconds    double precision NOT NULL,
    due_at           timestamptz NOT NULL,
    -- Lookups started; an error retries with the runner's retry policy, without limit.
    attempt          integer NOT NULL DEFAULT 0,
    lease_token      bigint NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    -- Set with the final result; NULL while due (also while retrying after an error).
    done_at          timestamptz,
    result           text CHECK (result IN ('absent', 'found', 'not_verifiable', 'error', 'superseded')),
    -- What the lookup counted (records found), when the system says.
    count            bigint,
    last_error       text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((done_at IS NULL) = (result IS NULL OR result = 'error'))
);
-- Due checks per instance, and the leases to rescue: open work only.
CREATE INDEX verification_checks_due ON verification_checks (connector, due_at) WHERE done_at IS NULL;
CREATE INDEX verification_checks_leases ON verification_checks (lease_expires_at) WHERE lease_owner IS NOT NULL;
CREATE INDEX verification_checks_request ON verification_checks (request_id, task_id, id);
