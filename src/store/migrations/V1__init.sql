-- Requests, their tasks, the append-only audit log, the outbox and the shared rate limits.

CREATE TABLE requests (
    id                uuid PRIMARY KEY,
    state             text NOT NULL CHECK (state IN
                        ('received', 'scheduled', 'in_progress', 'completed', 'failed', 'cancelled', 'closed')),
    generation        integer NOT NULL DEFAULT 1,
    body_sha256       bytea NOT NULL,
    -- The normalised identifiers, kept only while connectors need them; NULL once closed.
    subject           jsonb,
    -- Keyed hash of the whole subject (for logs) and of each identifier (for search).
    subject_hash      text NOT NULL,
    identifier_hashes text[] NOT NULL,
    locale            text,
    reply_to          text,
    requested_at      timestamptz NOT NULL,
    received_at       timestamptz NOT NULL,
    deadline_at       timestamptz NOT NULL,
    finished_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_state_deadline ON requests (state, deadline_at);
CREATE INDEX requests_identifier_hashes ON requests USING gin (identifier_hashes);

CREATE TABLE request_holds (
    request_id  uuid NOT NULL REFERENCES requests (id),
    kind        text NOT NULL CHECK (kind IN ('operator', 'legal', 'brake')),
    reason      text NOT NULL,
    actor       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, kind)
);

CREATE TABLE tasks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       uuid NOT NULL REFERENCES requests (id),
    connector        text NOT NULL,
    kind             text NOT NULL,
    state            text NOT NULL CHECK (state IN
                       ('pending', 'running', 'waiting', 'retrying', 'erased', 'nothing_to_erase', 'failed', 'exempt')),
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    -- Fencing token: bumped by every claim; an outcome is recorded only with the current one.
    lease_token      bigint NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    pending          jsonb,
    evidence         jsonb,
    last_error       text,
    errors           jsonb NOT NULL DEFAULT '[]',
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, connector)
);
CREATE INDEX tasks_due ON tasks (connector, next_attempt_at) WHERE state IN ('pending', 'retrying', 'waiting');
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE state = 'running';

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  uuid NOT NULL,
    task_id     bigint,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    event       text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_request ON audit_log (request_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      uuid,
    message_id      uuid NOT NULL,
    event_type      text NOT NULL,
    -- 'events': the events exchange, routing key = event type; 'reply': the intake message's
    -- reply_to queue through the default exchange.
    destination     text NOT NULL CHECK (destination IN ('events', 'reply')),
    routing_key     text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, destination)
);
CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- One row per rate-limited connector instance: the next free call slot (GCRA, no burst).
CREATE TABLE rate_limits (
    connector   text PRIMARY KEY,
    next_slot   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
