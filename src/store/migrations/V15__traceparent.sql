-- The W3C trace context of a request (issue 15): read from the intake message's `traceparent`
-- header, or started at intake. Every attempt continues it. Version 00 only, as the worker writes
-- it; no personal data (random ids and flags).
ALTER TABLE requests ADD COLUMN traceparent text
    CHECK (traceparent IS NULL OR traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
