-- Hash key rotation: which hash keys made a request's `identifier_hashes` (one hash per
-- identifier under every key live at intake or at the last `erasure rehash`) and which key made a
-- legal hold entry's hash. Ids are fingerprints of the keys (src/identity.rs), never the keys.
-- NULL: stored before key ids were recorded; the worker attributes them to its hash key at
-- start-up while it has no retired key (before any rotation only one key can have made them).
ALTER TABLE requests ADD COLUMN hash_key_ids text[];
ALTER TABLE legal_holds ADD COLUMN hash_key_id text;
-- Finds the rows left to attribute without a scan once there are none.
CREATE INDEX requests_unrecorded_hash_keys ON requests (id) WHERE hash_key_ids IS NULL;
