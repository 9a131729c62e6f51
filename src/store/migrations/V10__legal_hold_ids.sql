-- Hold-list entries can name a per-system id (a subject's `ids`, hashed with the kind `id`).

ALTER TABLE legal_holds DROP CONSTRAINT legal_holds_identifier_kind_check;
ALTER TABLE legal_holds ADD CONSTRAINT legal_holds_identifier_kind_check
    CHECK (identifier_kind IN ('email', 'phone', 'user_id', 'id'));
