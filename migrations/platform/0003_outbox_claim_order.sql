-- The dispatcher claims the first batch of due events in (next_attempt_at, id) order. With an index in
-- exactly that order the claim reads the batch and stops; the index on next_attempt_at alone made it sort
-- every due event first, which grows with a backlog (after an outage, or while a handler keeps failing).
CREATE INDEX outbox_due_order_idx ON platform.outbox (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX platform.outbox_due_idx;
