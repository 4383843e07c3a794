# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Orders scenarios for scripts/bench.sh (sourced; uses its helpers). Runs on the demo catalog seeded by main().
#
# Every checkout needs a cart nobody has checked out: bench_orders_prepare makes them in SQL (guest carts of
# 1–3 lines over the demo variants, and carts of one line of a single hot variant), listed in
# bench.checkout_carts. Before every wrk run, checkout_slice hands the Lua scripts a slice of carts no
# earlier run used (BENCH_CHECKOUT_SLICE per second of the run; a run that needs more wraps around, and
# those checkouts fail visibly with 409). bench/pgbench/orders_checkout.sql draws its carts at random from
# ranges of their own (PGBENCH_CARTS of each kind), so that it never completes a cart wrk is given; a cart
# it draws twice is completed only once (the second time the statement finds it completed, a little cheaper).

BENCH_CHECKOUT_SLICE=${BENCH_CHECKOUT_SLICE:-2500}
PGBENCH_CARTS=20000
CHECKOUT_IDS=$BAZAAR_LOCAL/bench-checkout-all.txt
HOT_CHECKOUT_IDS=$BAZAAR_LOCAL/bench-checkout-hot.txt
export BENCH_CHECKOUT_CARTS=$BAZAAR_LOCAL/bench-checkout-carts.txt   # read by bench/lua/orders_carts.lua
export BENCH_WRK_THREADS=$WRK_THREADS

# bench_orders_prepare NORMAL HOT: NORMAL carts over many variants and HOT carts of the hot variant for wrk
# (rows 1..NORMAL and the next HOT of bench.checkout_carts), then PGBENCH_CARTS of each kind for pgbench.
bench_orders_prepare() {
  local normal=$1 hot=$2
  info "making $normal checkout carts of 1–3 lines and $hot of one hot variant (+ $PGBENCH_CARTS of each for pgbench)"
  local_psql -d "$BENCH_DB" -v normal="$normal" -v hot="$hot" -v pg="$PGBENCH_CARTS" <<'SQL' >/dev/null
-- Plenty of stock everywhere: the scenarios measure checkouts, not running out (the oversell check sets
-- its own stock).
UPDATE catalog.variants SET on_hand = on_hand + 1000000;
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.sellable;
CREATE TABLE bench.sellable AS
  SELECT row_number() OVER (ORDER BY v.id) AS k, v.id, v.product_id, v.sku, p.title || ' — ' || v.title AS title,
         v.price
  FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id WHERE p.status = 'published';
CREATE UNIQUE INDEX ON bench.sellable (k);
DROP TABLE IF EXISTS bench.checkout_carts;
-- Cart n: 1 + n % 3 lines of distinct variants spread over the catalogue (hot carts: k = 1 only), 1–2 units
-- each. Rows: wrk's normal carts, wrk's hot carts, pgbench's normal carts, pgbench's hot carts.
CREATE TABLE bench.checkout_carts AS
WITH carts AS (
  SELECT n, gen_random_uuid() AS cart_id,
         (n > :normal AND n <= :normal + :hot) OR n > :normal + :hot + :pg AS hot
  FROM generate_series(1, :normal + :hot + 2 * :pg) n),
lines AS (
  SELECT c.n, c.cart_id, l, s.id, s.product_id, s.sku, s.title, s.price, 1 + (c.n + l) % 2 AS quantity
  FROM carts c CROSS JOIN LATERAL generate_series(1, CASE WHEN c.hot THEN 1 ELSE 1 + c.n % 3 END) l
  JOIN bench.sellable s
    ON s.k = CASE WHEN c.hot THEN 1 ELSE 1 + ((c.n::bigint * 3 + l) * 7919) % (SELECT count(*) FROM bench.sellable) END)
SELECT n, cart_id, array_agg(id ORDER BY l) AS variant_ids, array_agg(product_id ORDER BY l) AS product_ids,
       array_agg(sku ORDER BY l) AS skus, array_agg(title ORDER BY l) AS titles,
       array_agg(quantity ORDER BY l) AS quantities, array_agg(price ORDER BY l) AS prices,
       sum(price * quantity)::bigint AS subtotal,
       -- stand-ins of the event payload and the stored response, of their real sizes
       jsonb_build_object('order_id', cart_id, 'number', 'BZR-' || lpad(n::text, 6, '0'),
                          'email', 'bench-buyer@example.com', 'currency', 'EUR', 'status', 'pending_payment',
                          'lines', jsonb_agg(jsonb_build_object('variant_id', id, 'product_id', product_id,
                                                                'sku', sku, 'title', title, 'quantity', quantity,
                                                                'unit_price', price) ORDER BY l)) AS payload,
       json_build_object('id', cart_id, 'number', 'BZR-' || lpad(n::text, 6, '0'), 'status', 'paid',
                         'items', json_agg(json_build_object('variant_id', id, 'product_id', product_id, 'sku', sku,
                                                             'title', title, 'quantity', quantity,
                                                             'unit_price', json_build_object('amount', price, 'currency', 'EUR')) ORDER BY l),
                         'history', json_build_array(json_build_object('status', 'pending_payment', 'note', 'order placed'),
                                                     json_build_object('status', 'paid', 'note', 'payment accepted')))::text
         AS response
FROM lines GROUP BY n, cart_id;
CREATE UNIQUE INDEX ON bench.checkout_carts (n);
INSERT INTO cart.carts (id, currency) SELECT cart_id, 'EUR' FROM bench.checkout_carts;
INSERT INTO cart.items (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
SELECT gen_random_uuid(), b.cart_id, u.variant, u.product, u.sku, u.title, u.quantity, u.price
FROM bench.checkout_carts b,
     unnest(b.variant_ids, b.product_ids, b.skus, b.titles, b.quantities, b.prices)
       AS u(variant, product, sku, title, quantity, price);
VACUUM ANALYZE bench.checkout_carts;
VACUUM ANALYZE cart.carts;
VACUUM ANALYZE cart.items;
VACUUM ANALYZE catalog.variants;
SQL
  local_psql -d "$BENCH_DB" -At -c "SELECT cart_id FROM bench.checkout_carts WHERE n <= $normal ORDER BY n" >"$CHECKOUT_IDS"
  local_psql -d "$BENCH_DB" -At \
    -c "SELECT cart_id FROM bench.checkout_carts WHERE n > $normal AND n <= $((normal + hot)) ORDER BY n" >"$HOT_CHECKOUT_IDS"
  HOT_VARIANT=$(local_psql -d "$BENCH_DB" -At -c "SELECT id FROM bench.sellable WHERE k = 1")
  NORMAL_CARTS=$normal
  HOT_CARTS=$hot
  : >"$BAZAAR_LOCAL/bench-checkout-cursor-all"
  : >"$BAZAAR_LOCAL/bench-checkout-cursor-hot"
}

# checkout_slice POOL: the next unused slice of POOL (all|hot) into $BENCH_CHECKOUT_CARTS (run_wrk's hook).
checkout_slice() {
  local pool=$1 file cursor_file from size
  file=$CHECKOUT_IDS; [[ $pool == hot ]] && file=$HOT_CHECKOUT_IDS
  cursor_file=$BAZAAR_LOCAL/bench-checkout-cursor-$pool
  from=$(($(cat "$cursor_file" 2>/dev/null || echo 0) + 0))
  size=$((BENCH_CHECKOUT_SLICE * $(to_seconds "$CURRENT_WRK_DURATION")))
  sed -n "$((from + 1)),$((from + size))p" "$file" >"$BENCH_CHECKOUT_CARTS"
  [[ -s $BENCH_CHECKOUT_CARTS ]] || die "the $pool checkout carts are used up (make more: BENCH_CHECKOUT_SLICE, bench_orders_prepare)"
  echo $((from + size)) >"$cursor_file"
}
slice_all() { checkout_slice all; wait_outbox_drained; }
slice_hot() { checkout_slice hot; wait_outbox_drained; }

# Every checkout leaves two events for bazaar's dispatcher (order placed, order paid → one email), and so do
# pgbench's checkouts (typed bench.*, which no module subscribes to, but the dispatcher still closes them).
# Each run starts with no backlog, so that neither side's measurement pays for the other's events; bazaar's
# own events, handled while it runs, are part of what a checkout costs it.
wait_outbox_drained() {
  local started=$SECONDS deadline=$((SECONDS + 180)) pending first=
  while :; do
    pending=$(local_psql -d "$BENCH_DB" -At -c \
      "SELECT count(*) FROM platform.outbox WHERE status = 'pending' AND next_attempt_at <= now()")
    first=${first:-$pending}
    if ((pending == 0)); then
      ((first == 0)) || info "  (the dispatcher worked off $first events in $((SECONDS - started)) s)"
      return 0
    fi
    ((SECONDS < deadline)) || { warn "the outbox still holds $pending events after 180 s"; return 0; }
    sleep 0.5   # polling the dispatcher's progress, nothing to synchronise with
  done
}

# Units of the hot variant sold through paid orders vs what left on_hand; 0 oversold is the only pass.
hot_variant_conservation() {
  local_psql -d "$BENCH_DB" -At -F ' ' -c "
      SELECT v.on_hand, v.reserved,
             (SELECT coalesce(sum(l.quantity), 0) FROM orders.order_lines l JOIN orders.orders o ON o.id = l.order_id
              WHERE l.variant_id = v.id AND o.status = 'paid' AND o.number < 10000000)
      FROM catalog.variants v WHERE v.id = '$HOT_VARIANT'"
}

# The oversell check: the hot variant gets STOCK units, 64 buyers check out for 2 s; exactly STOCK units may
# be sold, the rest of the checkouts are refused (409), and nothing stays reserved.
bench_oversell() {
  local stock=200 before_sold on_hand reserved sold verdict=ok
  read -r _ _ before_sold <<<"$(hot_variant_conservation)"
  local_psql -d "$BENCH_DB" -c "UPDATE catalog.variants SET on_hand = reserved + $stock WHERE id = '$HOT_VARIANT'" >/dev/null
  WRK_BEFORE_RUN=slice_hot run_wrk bench/lua/orders_checkout.lua "$BAZAAR_PORT" 2s >/dev/null
  read -r on_hand reserved sold <<<"$(hot_variant_conservation)"
  sold=$((sold - before_sold))
  info "  oversell check: $stock in stock, $sold sold, on_hand $on_hand, reserved $reserved"
  ((sold == stock && on_hand == 0 && reserved == 0)) || verdict="FAIL (sold $sold of $stock, on_hand $on_hand, reserved $reserved)"
  row "hot variant, $stock in stock" "$sold sold" "" "" "exactly $stock sold, 0 left" "" "" "$verdict"
  # Back to plenty: the cart scenarios' variants may include this one.
  local_psql -d "$BENCH_DB" -c "UPDATE catalog.variants SET on_hand = reserved + 1000000 WHERE id = '$HOT_VARIANT'" >/dev/null
}

# The checkout's statements run by pgbench with as many clients as wrk's connections: the database alone at
# the concurrency of the p99 bound, without any server in front. Reported for context (no verdict): when
# its own p99 is above the bound, no server can meet it on this machine.
bench_checkout_database_latency() {
  local tps p50 p99
  wait_outbox_drained
  read -r tps p50 p99 <<<"$(run_pgbench_latency orders_checkout "$CONNECTIONS" "$DURATION")"
  info "  the database alone at $CONNECTIONS clients: P(orders_checkout) $tps tps, p50 $p50 ms, p99 $p99 ms"
  row "checkout, database alone" "" "$(printf '%.0f' "$tps") P@$CONNECTIONS" "" "context for the p99 bound" \
    "$p50 ms" "$p99 ms" "info"
}

bench_orders() {
  local runs=$((2 * (1 + PAIRS)))   # warm-up + pairs, for the checkout scenario and the storefront mix
  bench_orders_prepare $((BENCH_CHECKOUT_SLICE * $(to_seconds "$DURATION") * runs + 10000)) \
                       $((BENCH_CHECKOUT_SLICE * $(to_seconds "$DURATION") * runs + 10000))
  # The whole POST /api/v1/orders (tok_visa) on fresh carts of 1–3 lines over many variants, against its
  # statements run by pgbench (bench/pgbench/orders_checkout.sql).
  local pg_first=$((NORMAL_CARTS + HOT_CARTS + 1))
  PGBENCH_DEFINES=(-D "first=$pg_first" -D "last=$((pg_first + PGBENCH_CARTS - 1))")
  BASELINE_BEFORE_RUN=wait_outbox_drained WRK_BEFORE_RUN=slice_all \
    scenario "checkout" bench/lua/orders_checkout.lua "P(orders_checkout)" 0.70 50
  bench_checkout_database_latency
  # 64 buyers of one hot variant: every checkout waits for the variant's row lock.
  PGBENCH_DEFINES=(-D "first=$((pg_first + PGBENCH_CARTS))" -D "last=$((pg_first + 2 * PGBENCH_CARTS - 1))")
  BASELINE_BEFORE_RUN=wait_outbox_drained WRK_BEFORE_RUN=slice_hot \
    scenario "checkout, hot variant" bench/lua/orders_checkout.lua "P(orders_checkout)" 0.70 50
  PGBENCH_DEFINES=()
  bench_oversell
  # 80% cached product pages, 15% add-to-cart, 5% checkouts, against X (see bench_storefront_mix).
  bench_cart_prepare
  PGBENCH_DEFINES=()
  bench_storefront_mix
}

# The storefront mix (bench/lua/storefront_mix.lua: 80% cached product pages, 15% add-to-cart, 5% checkouts)
# against X = 1 / (0.80/H + 0.15/P(cart_add) + 0.05/P(orders_checkout)): what the mix would reach if each kind
# of request cost what its baseline costs. Needs the cart section's bench carts (CART_PGBENCH_DEFINES).
bench_storefront_mix() {
  local name="storefront mix 80/15/5" want=0.60 p99_max=20 i out r p50 p99 nb ne h pa pc x
  local -a rps=() p50s=() p99s=() xs=()
  local bad=0 errors=0 pg_first=$((NORMAL_CARTS + HOT_CARTS + 1))
  local -a checkout_defines=(-D "first=$pg_first" -D "last=$((pg_first + PGBENCH_CARTS - 1))")
  info "$name: warm-up, then $PAIRS pairs (bazaar, X) × $DURATION at $CONNECTIONS connections"
  WRK_BEFORE_RUN=slice_all run_wrk bench/lua/storefront_mix.lua "$BAZAAR_PORT" "$WARMUP" >/dev/null
  for ((i = 1; i <= PAIRS; i++)); do
    out=$(WRK_BEFORE_RUN=slice_all run_wrk bench/lua/storefront_mix.lua "$BAZAAR_PORT" "$DURATION")
    read -r r p50 p99 nb ne <<<"$out"
    rps+=("$r"); p50s+=("$p50"); p99s+=("$p99"); bad=$((bad + nb)); errors=$((errors + ne))
    wait_outbox_drained
    h=$(run_baseline H bench/lua/catalog_product_hot.lua "$DURATION")
    PGBENCH_DEFINES=("${CART_PGBENCH_DEFINES[@]}"); pa=$(run_pgbench cart_add "$DURATION")
    PGBENCH_DEFINES=("${checkout_defines[@]}"); pc=$(run_pgbench orders_checkout "$DURATION")
    PGBENCH_DEFINES=()
    x=$(calc "1 / (0.80 / $h + 0.15 / $pa + 0.05 / $pc)")
    xs+=("$x")
    info "  pair $i: bazaar $r req/s (p99 $p99 ms); H $h, P(cart_add) $pa, P(orders_checkout) $pc → X $x"
  done
  judge_ratio "$name" "$want" "$p99_max" "$bad non-2xx, $errors socket errors" "$((bad + errors))" X \
    rps xs p50s p99s
}
