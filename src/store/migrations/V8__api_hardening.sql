-- Dashboard sessions, kept server-side: the cookie holds a random id, this table its SHA-256,
-- the token it was opened with (name and SHA-256 digest, never the token) and its expiry.
-- Signing out deletes the row; a session whose token was rotated or removed is refused and
-- deleted when next presented.
CREATE TABLE dashboard_sessions (
    id_sha256     bytea PRIMARY KEY,
    token_name    text NOT NULL,
    token_sha256  bytea NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Searches by identifier are audited (actor, identifier hashes): such a row names no request.
ALTER TABLE audit_log ALTER COLUMN request_id DROP NOT NULL;

-- The gauges of /metrics read bounded ranges of indexes, never a whole table (store/gauges.rs).
CREATE INDEX tasks_connector_state ON tasks (connector, state);
CREATE INDEX outbox_unsent_age ON outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX dead_letters_kept ON dead_letters (id) WHERE replayed_at IS NULL;
