-- GET /api/v1/carts/{id}: the two statements the endpoint runs (both prepared once per connection), for a
-- random bench cart of bench/scenarios/cart.sh: the cart with its lines (modules/cart/src/repository.cpp,
-- find_cart), then the batched price look-up of its lines' variants (modules/catalog/src/
-- repository_inventory.cpp, variant_snapshots). The endpoint binds the cart id; here it is computed from the
-- cart number as the bench carts were made (bench/lua/cart_ids.lua), which costs next to nothing.
-- :carts and :variants (the carts' three variant ids as the catalog facade binds them) come from
-- bench/scenarios/cart.sh (-D).
\set n random(1, :carts)
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
