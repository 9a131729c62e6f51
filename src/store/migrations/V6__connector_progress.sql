-- Durable connector progress: a small document (vendor ids, step markers; never a subject
-- identifier) a connector saves before a destructive vendor call, under the attempt's lease, and
-- gets back on the task's next attempt. Cleared when the task succeeds; kept on failure, so an
-- operator's retry can finish what a dead attempt started.
ALTER TABLE tasks ADD COLUMN progress jsonb;
