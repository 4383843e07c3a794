-- Carts: guest carts (no user; the unguessable id is the capability) and customer carts (one open cart
-- per customer). Lines keep what they showed when added (price, sku, title) to detect price changes and to
-- describe variants that have since disappeared from the catalog.

CREATE TABLE cart.carts (
  id           uuid PRIMARY KEY,
  user_id      uuid,
  status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'abandoned')),
  order_id     uuid,
  currency     char(3)     NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CHECK ((status = 'completed') = (order_id IS NOT NULL))
);
CREATE UNIQUE INDEX carts_one_open_per_user_idx ON cart.carts (user_id) WHERE status = 'open' AND user_id IS NOT NULL;
CREATE INDEX carts_open_updated_idx ON cart.carts (updated_at) WHERE status = 'open';
CREATE INDEX carts_user_idx ON cart.carts (user_id);

CREATE TABLE cart.items (
  id         uuid PRIMARY KEY,
  cart_id    uuid        NOT NULL REFERENCES cart.carts (id) ON DELETE CASCADE,
  variant_id uuid        NOT NULL,
  product_id uuid        NOT NULL,
  sku        text        NOT NULL,
  title      text        NOT NULL,
  quantity   integer     NOT NULL CHECK (quantity BETWEEN 1 AND 999),
  unit_price bigint      NOT NULL CHECK (unit_price >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cart_id, variant_id)
);
