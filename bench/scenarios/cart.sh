# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Cart scenarios for scripts/bench.sh (sourced; uses its helpers). Runs on the demo catalog seeded by main().

BENCH_CART_COUNT=${BENCH_CART_COUNT:-20000}

# The bench carts: BENCH_CART_COUNT open guest carts, each with one unit of the same three variants, made in
# SQL (cart n's id is bench/lua/cart_ids.lua's formula, which wrk and pgbench compute alike). The variants
# are published and have at least 100 units available. Carts hold no stock, so only each line's own
# quantity is checked against availability and the 999 cap: adds spread over 20000 carts grow a line by
# a few units per run (wrk and pgbench together add ~100k units), and the line count stays at three.
# Exports what the Lua scripts need and sets PGBENCH_DEFINES (and CART_PGBENCH_DEFINES, for later sections
# such as the storefront mix) for bench/pgbench/cart_*.sql. Once per run: a second call only restores them.
bench_cart_prepare() {
  if [[ -n ${BENCH_CARTS:-} ]]; then
    PGBENCH_DEFINES=("${CART_PGBENCH_DEFINES[@]}")
    return 0
  fi
  local variants row variant product sku title price
  info "making $BENCH_CART_COUNT bench carts of three lines"
  variants=$(local_psql -d "$BENCH_DB" -At -F $'\t' -c "
      SELECT v.id, v.product_id, v.sku, p.title || ' — ' || v.title, v.price
      FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
      WHERE p.status = 'published' AND v.on_hand - v.reserved >= 100
      ORDER BY v.id LIMIT 3")
  (($(wc -l <<<"$variants") == 3)) || die "the demo catalog has fewer than three variants with 100 units available"
  local_psql -d "$BENCH_DB" -v carts="$BENCH_CART_COUNT" <<'SQL' >/dev/null
INSERT INTO cart.carts (id, currency)
SELECT ('cb000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'EUR' FROM generate_series(1, :carts) n;
INSERT INTO cart.items (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
SELECT gen_random_uuid(), ('cb000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, v.id, v.product_id, v.sku,
       p.title || ' — ' || v.title, 1, v.price
FROM generate_series(1, :carts) n  -- these carts only: other sections make carts of their own
CROSS JOIN (SELECT v.* FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
            WHERE p.status = 'published' AND v.on_hand - v.reserved >= 100 ORDER BY v.id LIMIT 3) v
JOIN catalog.products p ON p.id = v.product_id;
VACUUM ANALYZE cart.carts;
VACUUM ANALYZE cart.items;
SQL
  IFS=$'\t' read -r variant product sku title price <<<"$(head -n 1 <<<"$variants")"
  export BENCH_CARTS=$BENCH_CART_COUNT BENCH_CART_VARIANT=$variant
  # The catalog facade binds the lines' variant ids sorted and de-duplicated, as one array literal.
  PGBENCH_DEFINES=(-D "carts=$BENCH_CART_COUNT"
    -D "variants={$(cut -f 1 <<<"$variants" | sort | sed 's/.*/"&"/' | paste -sd, -)}"
    -D "variant=$variant" -D "product=$product" -D "sku=$sku" -D "title=$title" -D "price=$price")
  CART_PGBENCH_DEFINES=("${PGBENCH_DEFINES[@]}")
}

bench_cart() {
  bench_cart_prepare
  # GET /api/v1/carts/{id}: the cart with its lines, then their prices (bench/pgbench/cart_read.sql).
  scenario "cart read" bench/lua/cart_read.lua "P(cart_read)" 0.50 25
  # POST /api/v1/carts/{id}/items against its three statements in one transaction (bench/pgbench/cart_add.sql).
  scenario "add to cart" bench/lua/cart_add.lua "P(cart_add)" 0.70 25
  PGBENCH_DEFINES=()
}
