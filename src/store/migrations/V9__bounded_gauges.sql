-- The gauges of /metrics never read a table that grows for ever (store/gauges.rs).
--
-- Open work (requests not yet settled, tasks not yet terminal, unsent events, kept dead letters)
-- is counted exactly from partial indexes, so a scrape reads as many index entries as there is
-- open work. Settled requests and terminal tasks grow for ever: triggers record each change into
-- or out of those states as one row of `settled_count_changes` (insert-only, so concurrent
-- transactions never wait on a shared counter row), and the gauges add them to
-- `settled_counts`, into which they are folded now and then.

CREATE TABLE settled_counts (
    entity    text NOT NULL CHECK (entity IN ('request', 'task')),
    -- The task's connector instance; '' for requests.
    connector text NOT NULL,
    state     text NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (entity, connector, state)
);

CREATE TABLE settled_count_changes (
    entity    text NOT NULL,
    connector text NOT NULL,
    state     text NOT NULL,
    delta     smallint NOT NULL
);

CREATE FUNCTION request_settled_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state IN ('completed', 'failed', 'cancelled', 'closed') THEN
        INSERT INTO settled_count_changes VALUES ('request', '', OLD.state, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state IN ('completed', 'failed', 'cancelled', 'closed') THEN
        INSERT INTO settled_count_changes VALUES ('request', '', NEW.state, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION task_settled_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt') THEN
        INSERT INTO settled_count_changes VALUES ('task', OLD.connector, OLD.state, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt') THEN
        INSERT INTO settled_count_changes VALUES ('task', NEW.connector, NEW.state, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER requests_settled_count_insert AFTER INSERT ON requests FOR EACH ROW
    WHEN (NEW.state IN ('completed', 'failed', 'cancelled', 'closed'))
    EXECUTE FUNCTION request_settled_count_change();
CREATE TRIGGER requests_settled_count_update AFTER UPDATE OF state ON requests FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          AND (OLD.state IN ('completed', 'failed', 'cancelled', 'closed')
               OR NEW.state IN ('completed', 'failed', 'cancelled', 'closed')))
    EXECUTE FUNCTION request_settled_count_change();
CREATE TRIGGER requests_settled_count_delete AFTER DELETE ON requests FOR EACH ROW
    WHEN (OLD.state IN ('completed', 'failed', 'cancelled', 'closed'))
    EXECUTE FUNCTION request_settled_count_change();

CREATE TRIGGER tasks_settled_count_insert AFTER INSERT ON tasks FOR EACH ROW
    WHEN (NEW.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt'))
    EXECUTE FUNCTION task_settled_count_change();
CREATE TRIGGER tasks_settled_count_update AFTER UPDATE OF state, connector ON tasks FOR EACH ROW
    WHEN ((OLD.state, OLD.connector) IS DISTINCT FROM (NEW.state, NEW.connector)
          AND (OLD.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt')
               OR NEW.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt')))
    EXECUTE FUNCTION task_settled_count_change();
CREATE TRIGGER tasks_settled_count_delete AFTER DELETE ON tasks FOR EACH ROW
    WHEN (OLD.state IN ('erased', 'nothing_to_erase', 'failed', 'exempt'))
    EXECUTE FUNCTION task_settled_count_change();

-- What exists already is counted once, here, under the migration's lock.
INSERT INTO settled_counts
SELECT 'request', '', state, count(*) FROM requests
WHERE state IN ('completed', 'failed', 'cancelled', 'closed') GROUP BY state;
INSERT INTO settled_counts
SELECT 'task', connector, state, count(*) FROM tasks
WHERE state IN ('erased', 'nothing_to_erase', 'failed', 'exempt') GROUP BY connector, state;

-- Open work: requests by `requests_state_deadline`; tasks and dead letters by partial indexes
-- whose predicates match their gauges' queries exactly.
CREATE INDEX tasks_open ON tasks (connector, state) WHERE state IN ('pending', 'running', 'waiting', 'retrying');
DROP INDEX tasks_connector_state;
DROP INDEX dead_letters_kept;
CREATE INDEX dead_letters_kept ON dead_letters (id) WHERE replayed_at IS NULL AND discarded_at IS NULL;
