-- The worker claims, per channel, the first batch of due deliveries in (next_attempt_at, id) order. With
-- an index in exactly that order the claim reads the batch and stops, instead of sorting every due
-- delivery of the channel first (thousands during a burst of orders, or after the mail server was down).
CREATE INDEX deliveries_due_order_idx ON notifications.deliveries (channel, next_attempt_at, id)
  WHERE status IN ('pending', 'failed');
DROP INDEX notifications.deliveries_due_idx;
