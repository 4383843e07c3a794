-- A payment the provider took for an order cancelled meanwhile is given back at once (Service::
-- give_back_payment). When the provider refuses that refund, the order shows payment_status 'captured' and
-- the reconciler tries again later, backing off: give_back_due_at is when, give_back_attempts how many
-- refunds the order has asked for so far. NULL once nothing is owed.
ALTER TABLE orders.orders
  ADD COLUMN give_back_attempts int NOT NULL DEFAULT 0 CHECK (give_back_attempts >= 0),
  ADD COLUMN give_back_due_at timestamptz;

CREATE INDEX orders_give_back_due_idx ON orders.orders (give_back_due_at) WHERE give_back_due_at IS NOT NULL;
