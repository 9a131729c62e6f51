-- The audit chain's head (V11) advances in one statement per row instead of two.
--
-- V11's trigger read the head with SELECT ... FOR UPDATE and then updated it: two statements,
-- two index lookups and two WAL records (the row lock, then the new version) for every audit row,
-- about 22 rows per request. One UPDATE locks, reads and advances the head at once; it keeps the
-- head before the row (`prev_head`) so that the trigger learns the previous hash from the same
-- statement (PostgreSQL 15's RETURNING sees only the new row). Concurrent appends to one chain
-- still take turns on the head's row lock, so the chain never forks; the format, the hashes and
-- `erasure audit verify` are unchanged.

ALTER TABLE audit_chains ADD COLUMN prev_head bytea;

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key uuid := coalesce(NEW.request_id, '00000000-0000-0000-0000-000000000000'::uuid);
BEGIN
    LOOP
        UPDATE audit_chains
           SET length = length + 1, prev_head = head,
               head = audit_row_hash(head, NEW.id, length + 1, NEW.request_id, NEW.task_id, NEW.at, NEW.actor,
                                     NEW.event, NEW.detail)
         WHERE chain = key
        RETURNING length, prev_head, head INTO NEW.seq, NEW.prev_hash, NEW.hash;
        EXIT WHEN FOUND;
        -- The chain's first row: its head starts at length 0 and 32 zero bytes.
        INSERT INTO audit_chains (chain, length, head) VALUES (key, 0, decode(repeat('00', 32), 'hex'))
            ON CONFLICT (chain) DO NOTHING;
    END LOOP;
    RETURN NEW;
END $$;
