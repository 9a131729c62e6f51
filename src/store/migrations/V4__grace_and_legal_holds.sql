-- The legal hold list: keyed hashes of normalised identifiers (never the identifier), with why
-- and who answers for it. A request matching an active entry gets a `legal` hold that names it.

CREATE TABLE legal_holds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identifier_kind text NOT NULL CHECK (identifier_kind IN ('email', 'phone', 'user_id')),
    identifier_hash text NOT NULL,
    reason          text NOT NULL,
    owner           text NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    released_at     timestamptz,
    released_by     text,
    release_reason  text
);
CREATE INDEX legal_holds_active ON legal_holds (identifier_hash) WHERE released_at IS NULL;

-- Set on the `legal` holds the list put on; releasing the entry removes only those.
ALTER TABLE request_holds ADD COLUMN legal_hold_id bigint REFERENCES legal_holds (id);
