// Stock: reservations for orders, stock levels set by admins, and the snapshot reads of the Queries facade.
//
// Lock order, everywhere: variant rows first, in ascending id order, then reservation rows. Every
// statement below that changes stock starts by locking its variants `ORDER BY v.id FOR UPDATE`, and a
// reservation row is only touched after its variant is locked, so two calls can never wait on each other
// in a cycle (no deadlocks between checkouts, confirmations, releases and the sweeper).
#include "repository.hpp"

#include <platform/pq.hpp>

namespace bazaar::catalog::repo {

namespace pq = platform::pq;
namespace asio = boost::asio;

asio::awaitable<bool> has_live_reservation(platform::Database& db, const std::string& order_id) {
  pq::Params params;
  params.add(order_id);
  auto r = co_await pq::query(db, R"sql(
      SELECT EXISTS (SELECT 1 FROM catalog.reservations
                     WHERE order_id = $1 AND status IN ('held', 'confirmed')))sql",
                              std::move(params));
  co_return r.boolean(0, 0);
}

asio::awaitable<ReserveResult> reserve(platform::Database& db, const std::string& order_id,
                                       const std::vector<StockLine>& lines, std::int64_t ttl_seconds) {
  // One statement, all lines or none: the variant rows are locked in id order (a concurrent reservation of
  // the same variants waits here, then reads their newest stock), `ok` decides for the whole order, and
  // only then are reservation rows inserted and `reserved` raised. A duplicate call for the same order
  // waits on the same locks, finds its rows in the ON CONFLICT arbiter and changes nothing. The rows also
  // carry the variants' snapshots, so that checkout prices the order from the same read.
  //
  // The arrays are unnested from sub-selects so that the planner cannot see their length: it then estimates
  // every call alike (10 lines) and keeps one generic plan. Given the arrays themselves, it estimated the
  // real 1–3 lines, costed every custom plan below the generic one and so planned the statement again on
  // every call, which took PostgreSQL longer (~0.5 ms) than running it. The plan is the same either way.
  static constexpr pq::Prepared kSql{"catalog_reserve_v3", R"sql(
      WITH req AS (
        SELECT r.variant_id, r.quantity
        FROM unnest((SELECT $2::uuid[]), (SELECT $3::int[])) AS r(variant_id, quantity)
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
        SELECT $1::uuid, req.variant_id, req.quantity, 'held', now() + $4::int * interval '1 second'
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
      ORDER BY req.variant_id)sql"};
  std::vector<std::string> ids;
  std::vector<std::int64_t> quantities;
  for (const auto& line : lines) {
    ids.push_back(line.variant_id);
    quantities.push_back(line.quantity);
  }
  pq::Params params;
  params.add(order_id);
  params.add(pq::array_literal(ids));
  params.add(pq::array_literal(quantities));
  params.add(ttl_seconds);
  auto r = co_await pq::query(db, kSql, std::move(params));
  ReserveResult out;
  out.reserved = r.rows() > 0 && r.boolean(0, 2);
  for (int i = 0; i < r.rows(); ++i) {
    const int requested = static_cast<int>(r.integer(i, 1));
    const bool found = r.boolean(i, 4);
    const int available = static_cast<int>(r.integer(i, 5));
    const bool purchasable = r.boolean(i, 11);
    if (!out.reserved && (!purchasable || available < requested)) {
      out.shortages.push_back({r.string(i, 0), requested, purchasable ? available : 0});
    }
    if (!found) continue;
    VariantSnapshot v;
    v.variant_id = r.string(i, 0);
    v.product_id = r.string(i, 6);
    v.sku = r.string(i, 7);
    v.title = r.string(i, 8);
    v.price = platform::Money{r.integer(i, 9), r.string(i, 10)};
    v.available = available;
    v.purchasable = purchasable;
    out.snapshots.push_back(std::move(v));
  }
  co_return out;
}

namespace {

// $2, when given, makes the statement fail (platform.expect) instead of taking a variant to the low-stock
// threshold: the caller then confirms again in a transaction that publishes catalog.stock_low.
constexpr pq::Prepared kConfirm{"catalog_confirm_v2", R"sql(
      WITH locked AS MATERIALIZED (
        SELECT v.id FROM catalog.variants v
        WHERE v.id IN (SELECT variant_id FROM catalog.reservations WHERE order_id = $1 AND status = 'held')
        ORDER BY v.id FOR UPDATE
      ),
      done AS (
        UPDATE catalog.reservations r SET status = 'confirmed', updated_at = now()
        WHERE r.order_id = $1 AND r.status = 'held' AND r.variant_id IN (SELECT id FROM locked)
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
             platform.expect($2::int IS NULL OR NOT (moved.after < moved.before AND moved.available <= $2::int),
                             'stock stays above the low-stock threshold')
      FROM moved JOIN catalog.products p ON p.id = moved.product_id
      ORDER BY moved.id)sql"};

pq::Params confirm_params(const std::string& order_id, std::optional<int> fail_at_threshold) {
  pq::Params params;
  params.add(order_id);
  if (fail_at_threshold) {
    params.add(static_cast<std::int64_t>(*fail_at_threshold));
  } else {
    params.add_null();
  }
  return params;
}

std::vector<StockChange> stock_changes(const pq::Result& r) {
  std::vector<StockChange> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.string(i, 0), r.string(i, 1), r.string(i, 2), r.string(i, 3), static_cast<int>(r.integer(i, 4)),
                   static_cast<int>(r.integer(i, 5)), static_cast<int>(r.integer(i, 6))});
  }
  return out;
}

}  // namespace

std::vector<StockChange> confirm(soci::session& s, const std::string& order_id,
                                 std::optional<int> fail_at_threshold) {
  return stock_changes(pq::exec_prepared(s, kConfirm, confirm_params(order_id, fail_at_threshold)));
}

asio::awaitable<std::vector<StockChange>> confirm(platform::Database& db, const std::string& order_id,
                                                  std::optional<int> fail_at_threshold) {
  auto params = confirm_params(order_id, fail_at_threshold);
  co_return stock_changes(co_await pq::query(db, kConfirm, std::move(params)));
}

int release(soci::session& s, const std::string& order_id) {
  static constexpr pq::Prepared kSql{"catalog_release_v1", R"sql(
      WITH locked AS MATERIALIZED (
        SELECT v.id FROM catalog.variants v
        WHERE v.id IN (SELECT variant_id FROM catalog.reservations WHERE order_id = $1 AND status = 'held')
        ORDER BY v.id FOR UPDATE
      ),
      released AS (
        UPDATE catalog.reservations r SET status = 'released', updated_at = now()
        WHERE r.order_id = $1 AND r.status = 'held' AND r.variant_id IN (SELECT id FROM locked)
        RETURNING r.variant_id, r.quantity
      ),
      freed AS (
        UPDATE catalog.variants v SET reserved = v.reserved - released.quantity, updated_at = now()
        FROM released WHERE v.id = released.variant_id
        RETURNING v.id
      )
      SELECT count(*) FROM freed)sql"};
  pq::Params params;
  params.add(order_id);
  return static_cast<int>(pq::exec_prepared(s, kSql, params).integer(0, 0));
}

int restock(soci::session& s, const std::string& order_id) {
  static constexpr pq::Prepared kSql{"catalog_restock_v1", R"sql(
      WITH locked AS MATERIALIZED (
        SELECT v.id FROM catalog.variants v
        WHERE v.id IN (SELECT variant_id FROM catalog.reservations WHERE order_id = $1 AND status = 'confirmed')
        ORDER BY v.id FOR UPDATE
      ),
      returned AS (
        UPDATE catalog.reservations r SET status = 'released', updated_at = now()
        WHERE r.order_id = $1 AND r.status = 'confirmed' AND r.variant_id IN (SELECT id FROM locked)
        RETURNING r.variant_id, r.quantity
      ),
      restocked AS (
        UPDATE catalog.variants v SET on_hand = v.on_hand + returned.quantity, updated_at = now()
        FROM returned WHERE v.id = returned.variant_id
        RETURNING v.id
      )
      SELECT count(*) FROM restocked)sql"};
  pq::Params params;
  params.add(order_id);
  return static_cast<int>(pq::exec_prepared(s, kSql, params).integer(0, 0));
}

int release_expired(soci::session& s, int batch) {
  static constexpr pq::Prepared kSql{"catalog_release_expired_v1", R"sql(
      WITH due AS (
        SELECT order_id, variant_id FROM catalog.reservations
        WHERE status = 'held' AND expires_at < now()
        ORDER BY expires_at LIMIT $1
      ),
      locked AS MATERIALIZED (
        SELECT v.id FROM catalog.variants v WHERE v.id IN (SELECT variant_id FROM due)
        ORDER BY v.id FOR UPDATE
      ),
      released AS (
        UPDATE catalog.reservations r SET status = 'released', updated_at = now()
        FROM due
        WHERE r.order_id = due.order_id AND r.variant_id = due.variant_id
          AND r.status = 'held' AND r.expires_at < now() AND r.variant_id IN (SELECT id FROM locked)
        RETURNING r.variant_id, r.quantity
      ),
      per_variant AS (
        SELECT variant_id, sum(quantity)::int AS quantity FROM released GROUP BY variant_id
      ),
      freed AS (
        UPDATE catalog.variants v SET reserved = v.reserved - per_variant.quantity, updated_at = now()
        FROM per_variant WHERE v.id = per_variant.variant_id
        RETURNING v.id
      )
      SELECT count(*) FROM released)sql"};
  pq::Params params;
  params.add(static_cast<std::int64_t>(batch));
  return static_cast<int>(pq::exec_prepared(s, kSql, params).integer(0, 0));
}

StockChange set_stock(soci::session& s, const std::string& variant_id, int on_hand_before, int on_hand) {
  pq::Params params;
  params.add(variant_id);
  params.add(static_cast<std::int64_t>(on_hand));
  auto r = pq::exec(s, R"sql(
      UPDATE catalog.variants v SET on_hand = $2::int, updated_at = now()
      FROM catalog.products p
      WHERE v.id = $1 AND p.id = v.product_id
      RETURNING v.product_id::text, v.sku, p.title || ' — ' || v.title, v.on_hand - v.reserved)sql",
                    params);
  return {variant_id,  r.string(0, 0), r.string(0, 1), r.string(0, 2), on_hand_before, on_hand,
          static_cast<int>(r.integer(0, 3))};
}

asio::awaitable<std::vector<VariantSnapshot>> variant_snapshots(platform::Database& db,
                                                               const std::vector<std::string>& variant_ids) {
  // The ids are unnested from a sub-select so that the planner cannot count them, as in reserve(): with the
  // array itself it planned every call anew (custom plans costed below the generic one), which took
  // PostgreSQL several times longer than running the statement.
  static constexpr pq::Prepared kSql{"catalog_variant_snapshots_v2", R"sql(
      SELECT v.id::text, v.product_id::text, v.sku, p.title || ' — ' || v.title, v.price, v.currency,
             greatest(v.on_hand - v.reserved, 0), p.status = 'published'
      FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id
      WHERE v.id IN (SELECT unnest((SELECT $1::uuid[]))))sql"};
  pq::Params params;
  params.add(pq::array_literal(variant_ids));
  auto r = co_await pq::query(db, kSql, std::move(params));
  std::vector<VariantSnapshot> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    VariantSnapshot v;
    v.variant_id = r.string(i, 0);
    v.product_id = r.string(i, 1);
    v.sku = r.string(i, 2);
    v.title = r.string(i, 3);
    v.price = platform::Money{r.integer(i, 4), r.string(i, 5)};
    v.available = static_cast<int>(r.integer(i, 6));
    v.purchasable = r.boolean(i, 7);
    out.push_back(std::move(v));
  }
  co_return out;
}

}  // namespace bazaar::catalog::repo
