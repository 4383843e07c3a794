-- POST /api/v1/orders (guest, tok_visa, Idempotency-Key): the statements one checkout runs, in its order
-- and round trips, with the parameters bazaar binds computed from prepared bench data instead
-- (bench.checkout_carts, made by bench/scenarios/orders.sh; a primary-key look-up per statement). Copied from
-- src/platform/src/http/idempotency.cpp (claim, store), modules/cart/src/repository.cpp (cart_find_v1,
-- cart_complete_v1), modules/catalog/src/repository_inventory.cpp (catalog_reserve_v3, catalog_confirm_v2),
-- modules/orders/src/repository_checkout.cpp and src/platform/src/db/outbox_statement.hpp (the order and
-- payment batches); keep them in step. Order numbers (one block of 64 per 64 checkouts) are left out.
-- :n picks a prepared cart (its lines: 1–3 demo variants with plenty of stock) between -D first=… and
-- -D last=… (rows of bench.checkout_carts), :oid makes the order's ids. Events get the type "bench.*" so
-- that a running bazaar's dispatcher has no subscriber to hand them to. Time formats quote their colons ("HH24":"MI") so
-- that pgbench does not read :MI as a variable; the output is the same. For the same reason no literal has a
-- colon before a letter (pgbench would bind ":null" or ":POST" as parameters): the idempotency scope is
-- spelt with dashes here, and JSON nulls follow a space.
\set n random(:first, :last)
\set oid random(1, 9000000000000000000)

-- 1. Idempotency-Key claimed
WITH claimed AS (
  INSERT INTO platform.idempotency_keys (scope, key, request_hash, status, locked_until)
  VALUES ('anon-127.0.0.1-POST-/api/v1/orders', 'bench-' || :oid::text, encode(sha256(:oid::text::bytea), 'hex'),
          'in_progress', now() + make_interval(secs => 60))
  ON CONFLICT (scope, key) DO NOTHING
  RETURNING 1)
SELECT true, NULL, NULL, NULL, NULL, NULL, false FROM claimed
UNION ALL
SELECT false, status, request_hash, response_status, response_body, response_type, locked_until < now()
FROM platform.idempotency_keys
WHERE scope = 'anon-127.0.0.1-POST-/api/v1/orders' AND key = 'bench-' || :oid::text AND NOT EXISTS (SELECT 1 FROM claimed);

-- 2. Cart snapshot
SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
       to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
       i.id::text, i.variant_id::text, i.product_id::text, i.sku, i.title, i.quantity, i.unit_price
FROM cart.carts c LEFT JOIN cart.items i ON i.cart_id = c.id
WHERE c.id = (SELECT cart_id FROM bench.checkout_carts WHERE n = :n)
ORDER BY i.created_at, i.id;

-- 3. Stock reserved, lines priced
WITH req AS (
  SELECT r.variant_id, r.quantity
  FROM bench.checkout_carts b, unnest(b.variant_ids, b.quantities) AS r(variant_id, quantity) WHERE b.n = :n
),
locked AS MATERIALIZED (
  SELECT v.id, v.product_id, v.sku, p.title || ' — ' || v.title AS title, v.price, v.currency,
         v.on_hand - v.reserved AS available, p.status = 'published' AS purchasable
  FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
  WHERE v.id IN (SELECT variant_id FROM req)
  ORDER BY v.id FOR UPDATE OF v
),
ok AS (
  SELECT count(*) = (SELECT count(*) FROM req)
         AND coalesce(bool_and(l.purchasable AND l.available >= req.quantity), false) AS all_lines
  FROM req JOIN locked l ON l.id = req.variant_id
),
held AS (
  INSERT INTO catalog.reservations AS res (order_id, variant_id, quantity, status, expires_at)
  SELECT md5(:oid::text)::uuid, req.variant_id, req.quantity, 'held', now() + 900 * interval '1 second'
  FROM req, ok WHERE ok.all_lines
  ON CONFLICT (order_id, variant_id) DO UPDATE
    SET quantity = EXCLUDED.quantity, status = 'held', expires_at = EXCLUDED.expires_at, updated_at = now()
    WHERE res.status = 'released'
  RETURNING res.variant_id, res.quantity
),
served AS (
  UPDATE catalog.variants v SET reserved = v.reserved + held.quantity, updated_at = now()
  FROM held WHERE v.id = held.variant_id
  RETURNING v.id
)
SELECT req.variant_id::text, req.quantity, (SELECT all_lines FROM ok), (SELECT count(*) FROM served),
       l.id IS NOT NULL, greatest(coalesce(l.available, 0), 0), l.product_id::text, l.sku, l.title, l.price,
       l.currency, coalesce(l.purchasable, false)
FROM req LEFT JOIN locked l ON l.id = req.variant_id
ORDER BY req.variant_id;

-- 4. The order with its lines and first history entry, and OrderPlaced: one pipelined batch
\startpipeline
WITH ord AS (
  INSERT INTO orders.orders (id, number, user_id, email, guest_token_hash, cart_id, idempotency_key, status,
                             payment_status, currency, subtotal, shipping_total, total, shipping_address,
                             shipping_option, payment_method)
  SELECT md5(:oid::text)::uuid, 10000000 + :oid::bigint % 1000000000000, NULL, 'bench-buyer@example.com',
         encode(sha256(('guest' || :oid::text)::bytea), 'hex'), md5('cart' || :oid::text)::uuid, 'bench-' || :oid::text,
         'pending_payment', 'pending', 'EUR', b.subtotal, 495, b.subtotal + 495,
         '{"first_name":"Bench","last_name":"Buyer","line1":"Hauptstrasse 1","line2": null,"city":"Berlin","postal_code":"10115","region": null,"country":"DE","phone": null}'::jsonb,
         '{"id":"standard","name":"Standard (3-5 days)","price":{"amount":495,"currency":"EUR"}}'::jsonb, 'test_card'
  FROM bench.checkout_carts b WHERE b.n = :n
  RETURNING id, created_at),
lines AS (
  INSERT INTO orders.order_lines (order_id, line_no, variant_id, product_id, sku, title, quantity, unit_price,
                                  line_total)
  SELECT ord.id, l.n, l.variant, l.product, l.sku, l.title, l.qty, l.price, l.price * l.qty
  FROM ord, bench.checkout_carts b,
       unnest(b.variant_ids, b.product_ids, b.skus, b.titles, b.quantities, b.prices)
         WITH ORDINALITY AS l(variant, product, sku, title, qty, price, n)
  WHERE b.n = :n),
hist AS (
  INSERT INTO orders.order_history (id, order_id, status, payment_status, note)
  SELECT md5('placed' || :oid::text)::uuid, ord.id, 'pending_payment', 'pending', 'order placed' FROM ord)
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"') FROM ord;
INSERT INTO platform.outbox (id, type, version, aggregate_id, payload, occurred_at)
VALUES (md5('placed-event' || :oid::text)::uuid, 'bench.order_placed', 1, md5(:oid::text), (SELECT payload FROM bench.checkout_carts WHERE n = :n), now());
\endpipeline

-- 5. The payment provider's ledger (the test provider)
WITH added AS (
  INSERT INTO orders.test_payments (order_id, reference, outcome, amount, captured)
  SELECT md5(:oid::text)::uuid, 'pay_' || :oid::text, 'captured', b.subtotal + 495, b.subtotal + 495
  FROM bench.checkout_carts b WHERE b.n = :n
  ON CONFLICT (order_id) DO NOTHING
  RETURNING reference, outcome, amount, captured, refunded)
SELECT * FROM added
UNION ALL
SELECT reference, outcome, amount, captured, refunded FROM orders.test_payments
WHERE order_id = md5(:oid::text)::uuid AND NOT EXISTS (SELECT 1 FROM added);

-- 6. Paid, with its history entry, and OrderPaid: one pipelined batch
\startpipeline
WITH upd AS (
  UPDATE orders.orders
  SET status = 'paid', payment_status = 'captured', payment_reference = 'pay_' || :oid::text, updated_at = now(),
      paid_at = coalesce(paid_at, now())
  WHERE id = md5(:oid::text)::uuid AND status = 'pending_payment'
  RETURNING id, updated_at),
hist AS (
  INSERT INTO orders.order_history (id, order_id, status, payment_status, note, actor)
  SELECT md5('paid' || :oid::text)::uuid, upd.id, 'paid', 'captured', 'payment accepted', 'system' FROM upd)
SELECT platform.expect(count(*) = 1, 'the order is still pending payment'),
       to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"')
FROM upd;
INSERT INTO platform.outbox (id, type, version, aggregate_id, payload, occurred_at)
VALUES (md5('paid-event' || :oid::text)::uuid, 'bench.order_paid', 1, md5(:oid::text), (SELECT payload FROM bench.checkout_carts WHERE n = :n), now());
\endpipeline

-- 7. Stock confirmed (fails over to a transaction only when a variant reaches the low-stock threshold) and
-- 8. the cart completed: two modules' calls that bazaar sends together (pq::concurrently), each its own
-- transaction, in one flight. pgbench 15 cannot end a transaction inside a pipeline (\syncpipeline is 17's),
-- so here they share one: the same round trip, one commit fewer.
\startpipeline
WITH locked AS MATERIALIZED (
  SELECT v.id FROM catalog.variants v
  WHERE v.id IN (SELECT variant_id FROM catalog.reservations WHERE order_id = md5(:oid::text)::uuid AND status = 'held')
  ORDER BY v.id FOR UPDATE
),
done AS (
  UPDATE catalog.reservations r SET status = 'confirmed', updated_at = now()
  WHERE r.order_id = md5(:oid::text)::uuid AND r.status = 'held' AND r.variant_id IN (SELECT id FROM locked)
  RETURNING r.variant_id, r.quantity
),
moved AS (
  UPDATE catalog.variants v
  SET on_hand = v.on_hand - done.quantity, reserved = v.reserved - done.quantity, updated_at = now()
  FROM done WHERE v.id = done.variant_id
  RETURNING v.id, v.product_id, v.sku, v.title, v.on_hand + done.quantity AS before, v.on_hand AS after,
            v.on_hand - v.reserved AS available
)
SELECT moved.id::text, moved.product_id::text, moved.sku, p.title || ' — ' || moved.title,
       moved.before, moved.after, moved.available,
       platform.expect(5 IS NULL OR NOT (moved.after < moved.before AND moved.available <= 5),
                       'stock stays above the low-stock threshold')
FROM moved JOIN catalog.products p ON p.id = moved.product_id
ORDER BY moved.id;
WITH done AS (
  UPDATE cart.carts SET status = 'completed', order_id = md5(:oid::text)::uuid, completed_at = now(), updated_at = now()
  WHERE id = (SELECT cart_id FROM bench.checkout_carts WHERE n = :n) AND status = 'open'
  RETURNING status, order_id
)
SELECT status, order_id::text FROM done
UNION ALL
SELECT status, order_id::text FROM cart.carts
WHERE id = (SELECT cart_id FROM bench.checkout_carts WHERE n = :n) AND NOT EXISTS (SELECT 1 FROM done);
\endpipeline

-- 9. The saga's bookkeeping and the response stored under the Idempotency-Key (http::store_response): one
-- pipelined batch, the checkout's last write
\startpipeline
UPDATE orders.orders SET stock_state = 'confirmed', cart_completed = true WHERE id = md5(:oid::text)::uuid;
UPDATE platform.idempotency_keys
SET status = 'done', response_status = 201, response_body = (SELECT response FROM bench.checkout_carts WHERE n = :n),
    response_type = 'application/json'
WHERE scope = 'anon-127.0.0.1-POST-/api/v1/orders' AND key = 'bench-' || :oid::text;
\endpipeline
