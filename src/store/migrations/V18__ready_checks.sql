-- A check is claimable once its request is completed (V13), but its due time counts from its
-- task's end, so in a busy system the due range of the index verification_checks_due held
-- thousands of checks of requests still in progress, and every claim of checks read past all of
-- them (the benchmark: 4.7 ms per claim at 3,000 requests). `ready` is set when the request
-- completes (store::tasks::settle), and the claim reads an index of ready checks only.
ALTER TABLE verification_checks ADD COLUMN ready boolean NOT NULL DEFAULT false;

UPDATE verification_checks c SET ready = true
FROM requests r
WHERE r.id = c.request_id AND r.state = 'completed' AND c.done_at IS NULL;

CREATE INDEX verification_checks_ready ON verification_checks (connector, due_at) WHERE done_at IS NULL AND ready;
