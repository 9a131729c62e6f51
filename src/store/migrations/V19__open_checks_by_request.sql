-- The open checks of one request, read when a request completes (`ready`), when it closes (none
-- left?) and when it reopens. Without this index the planner, with statistics that lag a table
-- filling fast, combined verification_checks_request with the whole partial index
-- verification_checks_due (every open check of every request): the benchmark measured 1.3 to 5 ms
-- per statement at 3,000 requests, the costliest statements of the run.
CREATE INDEX verification_checks_open ON verification_checks (request_id) WHERE done_at IS NULL;
