-- Messages to the person (e-mail), written with the event that causes them and sent by the
-- mail loop. Their own table so the event relay and the mail sender never claim each other's
-- rows. The recipients are read from the request at send time: no identifier is copied here.
CREATE TABLE mail_outbox (
    id              bigserial PRIMARY KEY,
    request_id      uuid NOT NULL REFERENCES requests (id),
    message_id      uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    -- A permanent (5xx) refusal: never retried.
    refused_at      timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND refused_at IS NULL;

-- Whether messages are queued at all: set at start-up from `[mail] enabled`, so a worker without
-- mail queues nothing that would be sent, stale, the day mail is switched on.
CREATE TABLE mail_switch (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled   boolean NOT NULL
);
INSERT INTO mail_switch (enabled) VALUES (false);
