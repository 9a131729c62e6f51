-- Stable keyset pagination of the operators' request list.
CREATE INDEX requests_received ON requests (received_at, id);
CREATE INDEX tasks_request ON tasks (request_id);
