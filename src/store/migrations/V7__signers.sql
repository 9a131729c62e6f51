-- Who vouched for what (issue 12). The signing key id that admitted each request: a cancellation
-- must be signed by the same key (or one marked can_cancel_any). NULL: admitted unsigned (signatures
-- not required) or through the HTTP API.
ALTER TABLE requests ADD COLUMN signing_key_id text;

-- A dead letter keeps the key id and signature it came with, so a replay runs the same signature
-- check as the queue; and an operator can discard one (audited here), which clears its alert.
ALTER TABLE dead_letters
    ADD COLUMN signing_key_id text,
    ADD COLUMN signature text,
    ADD COLUMN discarded_at timestamptz,
    ADD COLUMN discarded_by text,
    ADD COLUMN discard_reason text;
