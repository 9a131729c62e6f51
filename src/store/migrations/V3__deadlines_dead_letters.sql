-- A deadline can be extended once (GDPR art. 12(3)), with the reason given to the person.
ALTER TABLE requests ADD COLUMN deadline_extended_at timestamptz;
ALTER TABLE requests ADD COLUMN deadline_extension_reason text;

-- Invalid intake messages, kept for operators (reason, and the body for replay after a fix).
-- Bodies can hold personal data: rows are purged after amqp.dead_letter_ttl, like the queue.
CREATE TABLE dead_letters (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reason            text NOT NULL,
    detail            text NOT NULL,
    request_id        uuid,
    body              bytea NOT NULL,
    reply_to          text,
    dead_lettered_at  timestamptz NOT NULL,
    replayed_at       timestamptz,
    replayed_by       text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_time ON dead_letters (dead_lettered_at);
