-- The audit log becomes tamper-evident: hash-chained per request (README, "Proof of erasure").
--
-- Every row belongs to one chain: its request's, or the operator chain (the nil UUID) for rows
-- that name no request (searches by identifier). A row carries its position in the chain
-- (`seq`, from 1), the hash of the row before it (`prev_hash`; 32 zero bytes for the first) and
-- its own `hash` = SHA-256(prev_hash || audit_row_bytes(row)). A BEFORE INSERT trigger computes
-- them, so every insertion path is chained and no caller can supply them.
--
-- The chain's head (length and last hash) lives in `audit_chains`, one row per chain, locked
-- (FOR UPDATE) by the trigger and updated in the same transaction: two transactions appending
-- to one chain take turns, so the chain never forks, and an insert reads two index entries,
-- never the log itself. The head also shows rows missing from the end of a chain.
--
-- Audit rows are never pruned (the append-only trigger of V1 refuses DELETE). Pruning, if it
-- comes, removes whole chains (every row of a request and its `audit_chains` row); a chain
-- whose rows do not start at 1 or do not reach its head is reported by `erasure audit verify`.

CREATE TABLE audit_chains (
    -- The request's id; 00000000-0000-0000-0000-000000000000 for the operator chain.
    chain  uuid PRIMARY KEY,
    length bigint NOT NULL,
    head   bytea NOT NULL
);

-- One field: its length in UTF-8 bytes, ':', its UTF-8 bytes ('' for NULL).
CREATE FUNCTION audit_field(value text) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT convert_to(length(convert_to(coalesce(value, ''), 'UTF8'))::text || ':', 'UTF8')
           || convert_to(coalesce(value, ''), 'UTF8')
$$;

-- The hash of one row (format "erasure-audit-v1", also computed by src/audit/chain.rs):
-- SHA-256 of prev_hash, then 'erasure-audit-v1', then the fields id, seq, request_id,
-- task_id, at (microseconds since 1970-01-01 UTC), actor, event, detail (jsonb's text).
CREATE FUNCTION audit_row_hash(prev_hash bytea, id bigint, seq bigint, request_id uuid, task_id bigint,
                               at timestamptz, actor text, event text, detail jsonb)
RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(prev_hash || convert_to('erasure-audit-v1', 'UTF8')
                  || audit_field(id::text) || audit_field(seq::text) || audit_field(request_id::text)
                  || audit_field(task_id::text)
                  || audit_field((extract(epoch FROM at) * 1000000)::bigint::text)
                  || audit_field(actor) || audit_field(event) || audit_field(detail::text))
$$;

ALTER TABLE audit_log ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;

-- The rows written before this migration, chained in id order per chain.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
    r record;
    current_chain uuid;
    prev bytea;
    n bigint;
    row_hash bytea;
BEGIN
    FOR r IN SELECT a.id, a.request_id, a.task_id, a.at, a.actor, a.event, a.detail,
                    coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid) AS chain
             FROM audit_log a
             ORDER BY coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid), a.id LOOP
        IF current_chain IS DISTINCT FROM r.chain THEN
            current_chain := r.chain;
            prev := decode(repeat('00', 32), 'hex');
            n := 0;
        END IF;
        n := n + 1;
        row_hash := audit_row_hash(prev, r.id, n, r.request_id, r.task_id, r.at, r.actor, r.event, r.detail);
        UPDATE audit_log SET seq = n, prev_hash = prev, hash = row_hash WHERE id = r.id;
        prev := row_hash;
    END LOOP;
END $$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

INSERT INTO audit_chains (chain, length, head)
SELECT DISTINCT ON (coalesce(request_id, '00000000-0000-0000-0000-000000000000'::uuid))
       coalesce(request_id, '00000000-0000-0000-0000-000000000000'::uuid), seq, hash
FROM audit_log ORDER BY coalesce(request_id, '00000000-0000-0000-0000-000000000000'::uuid), seq DESC;

ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL,
                      ALTER COLUMN hash SET NOT NULL;
-- A chain reads in order through this index, and a fork (two rows at one position) is refused.
CREATE UNIQUE INDEX audit_log_chain ON audit_log
    ((coalesce(request_id, '00000000-0000-0000-0000-000000000000'::uuid)), seq);

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key uuid := coalesce(NEW.request_id, '00000000-0000-0000-0000-000000000000'::uuid);
    last_seq bigint;
    last_hash bytea;
BEGIN
    SELECT length, head INTO last_seq, last_hash FROM audit_chains WHERE chain = key FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chains (chain, length, head) VALUES (key, 0, decode(repeat('00', 32), 'hex'))
            ON CONFLICT (chain) DO NOTHING;
        SELECT length, head INTO last_seq, last_hash FROM audit_chains WHERE chain = key FOR UPDATE;
    END IF;
    NEW.seq := last_seq + 1;
    NEW.prev_hash := last_hash;
    NEW.hash := audit_row_hash(last_hash, NEW.id, NEW.seq, NEW.request_id, NEW.task_id, NEW.at, NEW.actor,
                               NEW.event, NEW.detail);
    UPDATE audit_chains SET length = NEW.seq, head = NEW.hash WHERE chain = key;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
