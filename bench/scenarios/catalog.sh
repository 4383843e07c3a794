# shellcheck shell=bash
# shellcheck disable=SC2034  # sets globals that scripts/bench.sh reads
# Catalog scenarios for scripts/bench.sh (sourced; uses its helpers). Runs on the demo catalog
# (BENCH_CATALOG_PRODUCTS products) seeded by main().

bench_catalog() {
  # Catalog reads as configured by default: the response cache serves hot products and list pages as
  # ready bytes (refreshed every catalog.cache_ttl_ms).
  scenario "product, cached" bench/lua/catalog_product_hot.lua H 0.70 5
  # (No latency bound is asked of lists; 50 ms catches stampedes: a refresh per expired key, not one per request.)
  scenario "list of 20, cached" bench/lua/catalog_list_hot.lua H 0.50 50
  # Search at 16 connections: only the latency bound counts (the ratio to H is shown, not judged).
  CONNECTIONS=16 scenario "full-text search, c=16" bench/lua/catalog_search.lua H 0.00 20
  # Every product read once or more: the cache fills up to catalog.cache_max_bytes; memory must stay bounded.
  info "reading every product for ${RSS_LOAD_SECONDS:-15} s (cache filling)"
  run_wrk bench/lua/catalog_product_all.lua "$BAZAAR_PORT" "${RSS_LOAD_SECONDS:-15}s" >/dev/null
  local loaded_rss verdict=ok
  loaded_rss=$(rss_mib "$BAZAAR_PID")
  is_true "$loaded_rss > 150" && verdict=FAIL
  row "RSS, 100k products read" "$loaded_rss MiB" "" "" "<= 150 MiB (cache full)" "" "" "$verdict"

  # The same reads with the cache off, against their SQL run by pgbench (bench/pgbench/catalog_*.sql).
  info "restarting bazaar with catalog.cache_enabled=false"
  restart_bazaar BAZAAR_CATALOG__CACHE_ENABLED=false
  scenario "product, cache off" bench/lua/catalog_product_all.lua "P(catalog_product)" 0.50 20
  scenario "list of 20, cache off" "/api/v1/products?limit=20" "P(catalog_list)" 0.45 50
  CONNECTIONS=16 scenario "search, cache off, c=16" bench/lua/catalog_search.lua H 0.00 60
  restart_bazaar
}
