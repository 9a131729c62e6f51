-- Forgetting ourselves (issue 14): what identifies a person is stored encrypted from intake on
-- (AES-256-GCM, `src/vault.rs`), with the id of the data key that sealed it, and deleted when the
-- request is over; a tombstone remains.

-- A request's subject and reply_to, sealed together (one encryption per request) and bound to the
-- row (associated data: the request id and `requests.identifiers`). The clear `subject` and
-- `reply_to` columns stay NULL for new requests; rows from before this migration keep them until
-- `erasure keys rotate` seals them.
ALTER TABLE requests
    ADD COLUMN identifiers_sealed bytea,
    ADD COLUMN identifiers_key_id text,
    -- When the sweep deleted the identifiers; the row is a tombstone from then on: state, dates,
    -- keyed hashes, the hash of the original message (so a replay is a harmless duplicate).
    ADD COLUMN forgotten_at timestamptz;
COMMENT ON COLUMN requests.subject IS
    'Legacy clear subject (before V12); NULL for new requests and once forgotten. See identifiers_sealed.';
COMMENT ON COLUMN requests.reply_to IS
    'Legacy clear reply_to (before V12); NULL for new requests and once forgotten. See identifiers_sealed.';
-- What the forgetting sweep looks at: settled requests still holding identifiers.
CREATE INDEX requests_to_forget ON requests (finished_at)
    WHERE forgotten_at IS NULL AND state IN ('failed', 'cancelled', 'closed');

-- A dead letter's body and reply_to, sealed together (associated data: its id).
ALTER TABLE dead_letters
    ALTER COLUMN body DROP NOT NULL,
    ADD COLUMN sealed bytea,
    ADD COLUMN sealed_key_id text;

-- The reply_to queue of an event for the product, sealed (associated data: the message id);
-- `routing_key` of such a row is empty.
ALTER TABLE outbox
    ADD COLUMN reply_to_sealed bytea,
    ADD COLUMN reply_to_key_id text;

-- Sent rows are pruned after `[retention] sent_messages`.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX mail_outbox_done ON mail_outbox (updated_at) WHERE sent_at IS NOT NULL OR refused_at IS NOT NULL;
