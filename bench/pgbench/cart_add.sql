-- POST /api/v1/carts/{id}/items: the three statements the endpoint runs (each prepared once per
-- connection), in one transaction as issue 5 asks of the baseline (the endpoint itself runs them in
-- autocommit, without BEGIN and COMMIT): the cart with its lines (modules/cart/src/repository.cpp,
-- find_cart), the batched price look-up (modules/catalog/src/repository_inventory.cpp, variant_snapshots),
-- and the one statement that adds the unit and returns the cart (add_quantity). For a random bench cart of
-- bench/scenarios/cart.sh, one unit of :variant, a line every bench cart has. The endpoint binds the cart
-- id and a fresh line id; here they are computed (bench/lua/cart_ids.lua's formula; gen_random_uuid()),
-- which costs next to nothing. :carts, :variants, :variant, :product, :sku, :title and :price come from
-- bench/scenarios/cart.sh (-D).
\set n random(1, :carts)
\set qty 1
\set max 999
BEGIN;
SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
       to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
       i.id::text, i.variant_id::text, i.product_id::text, i.sku, i.title, i.quantity, i.unit_price
FROM cart.carts c LEFT JOIN cart.items i ON i.cart_id = c.id
WHERE c.id = ('cb000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid
ORDER BY i.created_at, i.id;
SELECT v.id::text, v.product_id::text, v.sku, p.title || ' — ' || v.title, v.price, v.currency,
       greatest(v.on_hand - v.reserved, 0), p.status = 'published'
FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
WHERE v.id IN (SELECT unnest((SELECT :variants::uuid[])));
WITH c AS (
  UPDATE cart.carts SET updated_at = now()
  WHERE id = ('cb000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid AND status = 'open'
  RETURNING id, user_id, status, order_id, currency, updated_at
),
added AS (
  INSERT INTO cart.items AS i (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
  SELECT gen_random_uuid(), c.id, :variant::uuid, :product::uuid, :sku, :title, :qty::int, :price::bigint FROM c
  ON CONFLICT (cart_id, variant_id) DO UPDATE
    SET quantity = i.quantity + EXCLUDED.quantity, unit_price = EXCLUDED.unit_price,
        sku = EXCLUDED.sku, title = EXCLUDED.title, updated_at = now()
    WHERE i.quantity + EXCLUDED.quantity <= :max::int
  RETURNING i.id, i.variant_id, i.product_id, i.sku, i.title, i.quantity, i.unit_price, i.created_at
),
lines AS (
  SELECT * FROM added
  UNION ALL
  SELECT o.id, o.variant_id, o.product_id, o.sku, o.title, o.quantity, o.unit_price, o.created_at
  FROM cart.items o
  WHERE o.cart_id = ('cb000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid AND o.variant_id <> :variant::uuid
    AND EXISTS (SELECT 1 FROM added)
)
SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
       to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
       l.id::text, l.variant_id::text, l.product_id::text, l.sku, l.title, l.quantity, l.unit_price
FROM c CROSS JOIN lines l
ORDER BY l.created_at, l.id;
COMMIT;
