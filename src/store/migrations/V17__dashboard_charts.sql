-- The dashboard (issue 15): its request list, most urgent first, reads this index in order
-- (unsettled requests by deadline, then settled ones), and its 30-day charts count requests and
-- tasks settled per day through the other two, so no page reads a whole table.
CREATE INDEX requests_urgency ON requests ((finished_at IS NOT NULL), deadline_at, id);
CREATE INDEX requests_finished ON requests (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
