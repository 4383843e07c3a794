-- Orders: the order and its lines (prices frozen at checkout), its status history, payments and refunds.
-- Money is bigint minor units; totals are checked by the database too.

CREATE SEQUENCE orders.order_number_seq START WITH 1000;

CREATE TABLE orders.orders (
  id                uuid PRIMARY KEY,
  number            bigint      NOT NULL UNIQUE DEFAULT nextval('orders.order_number_seq'),
  user_id           uuid,
  email             text        NOT NULL,
  guest_token_hash  text,
  cart_id           uuid        NOT NULL,
  idempotency_key   text,
  status            text        NOT NULL CHECK (status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
  payment_status    text        NOT NULL CHECK (payment_status IN ('pending', 'authorized', 'captured', 'failed', 'refunded', 'partially_refunded')),
  currency          char(3)     NOT NULL,
  subtotal          bigint      NOT NULL CHECK (subtotal >= 0),
  shipping_total    bigint      NOT NULL CHECK (shipping_total >= 0),
  total             bigint      NOT NULL CHECK (total = subtotal + shipping_total),
  refunded_total    bigint      NOT NULL DEFAULT 0 CHECK (refunded_total >= 0 AND refunded_total <= total),
  shipping_address  jsonb       NOT NULL,
  shipping_option   jsonb       NOT NULL,
  payment_method    text        NOT NULL,
  payment_reference text,
  tracking_carrier  text,
  tracking_number   text,
  -- Saga bookkeeping, so the reconciler can finish what a crash interrupted.
  stock_state       text        NOT NULL DEFAULT 'reserved' CHECK (stock_state IN ('reserved', 'confirmed', 'released', 'restocked')),
  cart_completed    boolean     NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  paid_at           timestamptz
);
-- At most one live order per cart: a second concurrent checkout of the same cart fails here.
CREATE UNIQUE INDEX orders_one_live_order_per_cart_idx ON orders.orders (cart_id) WHERE status <> 'cancelled';
CREATE INDEX orders_user_idx ON orders.orders (user_id, id DESC);
CREATE INDEX orders_status_idx ON orders.orders (status, id DESC);
CREATE INDEX orders_email_idx ON orders.orders (lower(email));
CREATE INDEX orders_created_idx ON orders.orders (created_at);
CREATE INDEX orders_paid_idx ON orders.orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_pending_idx ON orders.orders (created_at) WHERE status = 'pending_payment';
CREATE INDEX orders_unfinished_saga_idx ON orders.orders (id)
  WHERE (status IN ('paid', 'shipped', 'delivered') AND (stock_state = 'reserved' OR NOT cart_completed))
     OR (status = 'cancelled' AND stock_state = 'reserved');

CREATE TABLE orders.order_lines (
  order_id   uuid    NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
  line_no    integer NOT NULL,
  variant_id uuid    NOT NULL,
  product_id uuid    NOT NULL,
  sku        text    NOT NULL,
  title      text    NOT NULL,
  quantity   integer NOT NULL CHECK (quantity > 0),
  unit_price bigint  NOT NULL CHECK (unit_price >= 0),
  line_total bigint  NOT NULL CHECK (line_total = unit_price * quantity),
  PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_product_idx ON orders.order_lines (product_id);

CREATE TABLE orders.order_history (
  id             uuid PRIMARY KEY,
  order_id       uuid        NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
  status         text        NOT NULL,
  payment_status text        NOT NULL,
  note           text        NOT NULL DEFAULT '',
  actor          text        NOT NULL DEFAULT 'system',
  at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order_idx ON orders.order_history (order_id, at);

-- Webhook replay protection: each provider event is applied once.
CREATE TABLE orders.payment_events (
  event_id    text PRIMARY KEY,
  order_id    uuid        NOT NULL,
  type        text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- The built-in test provider's ledger: what it authorised, so that a retried or reconciled order finds
-- the outcome instead of charging twice.
CREATE TABLE orders.test_payments (
  order_id   uuid PRIMARY KEY,
  reference  text        NOT NULL,
  outcome    text        NOT NULL CHECK (outcome IN ('authorized', 'captured', 'pending', 'declined', 'failed', 'refunded')),
  amount     bigint      NOT NULL,
  captured   bigint      NOT NULL DEFAULT 0,
  refunded   bigint      NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders.refunds (
  id         uuid PRIMARY KEY,
  order_id   uuid        NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
  amount     bigint      NOT NULL CHECK (amount > 0),
  reason     text        NOT NULL,
  actor      text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
