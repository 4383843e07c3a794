// The cart module's SQL, through libpq (platform/pq.hpp): SOCI's prepared rowsets cost three round trips
// (prepare, execute, deallocate) where a statement prepared once per connection costs one. Cart and line
// columns come back as text in one fixed layout (the cart, then a line from kLineColumn on), read by
// read_cart(). The autocommit statements go through pq::query: on an I/O thread, that thread's own
// pipelined connection, without a worker-thread hop.
//
// Timestamps are formatted 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"': the quoted colons print the same as bare
// ones, and keep the statements usable verbatim in pgbench scripts (bench/pgbench/cart_*.sql), where :MI
// would be a variable.
#include "repository.hpp"

#include <platform/ids.hpp>
#include <platform/pq.hpp>

namespace bazaar::cart::repo {

namespace pq = platform::pq;
namespace asio = boost::asio;

namespace {

// Columns 0–5: the cart; 6–12: one line per row (all NULL for a cart without lines).
constexpr int kLineColumn = 6;

CartRow cart_of_row(const pq::Result& r, int row) {
  return CartRow{r.string(row, 0), r.optional(row, 1), r.string(row, 2), r.optional(row, 3),
                 r.string(row, 4), r.string(row, 5), {}};
}

domain::StoredLine line_of_row(const pq::Result& r, int row) {
  constexpr int c = kLineColumn;
  return {r.string(row, c), r.string(row, c + 1), r.string(row, c + 2), r.string(row, c + 3),
          r.string(row, c + 4), static_cast<int>(r.integer(row, c + 5)), r.integer(row, c + 6)};
}

std::optional<CartRow> read_cart(const pq::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  CartRow cart = cart_of_row(r, 0);
  cart.lines.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if (!r.is_null(i, kLineColumn)) cart.lines.push_back(line_of_row(r, i));
  }
  return cart;
}

std::optional<std::string> first_text(const pq::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return r.string(0, 0);
}

}  // namespace

asio::awaitable<CartRow> insert_cart(platform::Database& db, const std::string& id,
                                     const std::optional<std::string>& user_id, const std::string& currency) {
  static constexpr pq::Prepared kSql{"cart_insert_v1", R"sql(
      INSERT INTO cart.carts (id, user_id, currency) VALUES ($1::uuid, $2::uuid, $3)
      RETURNING id::text, user_id::text, status, order_id::text, currency,
                to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'))sql"};
  pq::Params params;
  params.add(id);
  params.add(user_id);
  params.add(currency);
  co_return cart_of_row(co_await pq::query(db, kSql, std::move(params)), 0);
}

asio::awaitable<std::optional<CartRow>> find_cart(platform::Database& db, const std::string& cart_id) {
  static constexpr pq::Prepared kSql{"cart_find_v1", R"sql(
      SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
             to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
             i.id::text, i.variant_id::text, i.product_id::text, i.sku, i.title, i.quantity, i.unit_price
      FROM cart.carts c LEFT JOIN cart.items i ON i.cart_id = c.id
      WHERE c.id = $1::uuid
      ORDER BY i.created_at, i.id)sql"};
  pq::Params params;
  params.add(cart_id);
  co_return read_cart(co_await pq::query(db, kSql, std::move(params)));
}

asio::awaitable<std::optional<CartRow>> find_open_cart(platform::Database& db, const std::string& user_id) {
  static constexpr pq::Prepared kSql{"cart_find_open_v1", R"sql(
      SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
             to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
             i.id::text, i.variant_id::text, i.product_id::text, i.sku, i.title, i.quantity, i.unit_price
      FROM cart.carts c LEFT JOIN cart.items i ON i.cart_id = c.id
      WHERE c.user_id = $1::uuid AND c.status = 'open'
      ORDER BY i.created_at, i.id)sql"};
  pq::Params params;
  params.add(user_id);
  co_return read_cart(co_await pq::query(db, kSql, std::move(params)));
}

asio::awaitable<std::optional<CartRow>> add_quantity(platform::Database& db, const std::string& cart_id,
                                                     const domain::StoredLine& line) {
  // One statement: the cart must be open (and is touched; its row lock orders concurrent adds), the line is
  // inserted or increased atomically, and the cart comes back with its lines. The lines other than the one
  // added are read from the statement's snapshot, which data-modifying CTEs cannot see into: hence the
  // added row itself plus every other line.
  static constexpr pq::Prepared kSql{"cart_add_quantity_v1", R"sql(
      WITH c AS (
        UPDATE cart.carts SET updated_at = now() WHERE id = $1::uuid AND status = 'open'
        RETURNING id, user_id, status, order_id, currency, updated_at
      ),
      added AS (
        INSERT INTO cart.items AS i (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
        SELECT $2::uuid, c.id, $3::uuid, $4::uuid, $5, $6, $7::int, $8::bigint FROM c
        ON CONFLICT (cart_id, variant_id) DO UPDATE
          SET quantity = i.quantity + EXCLUDED.quantity, unit_price = EXCLUDED.unit_price,
              sku = EXCLUDED.sku, title = EXCLUDED.title, updated_at = now()
          WHERE i.quantity + EXCLUDED.quantity <= $9::int
        RETURNING i.id, i.variant_id, i.product_id, i.sku, i.title, i.quantity, i.unit_price, i.created_at
      ),
      lines AS (
        SELECT * FROM added
        UNION ALL
        SELECT o.id, o.variant_id, o.product_id, o.sku, o.title, o.quantity, o.unit_price, o.created_at
        FROM cart.items o WHERE o.cart_id = $1::uuid AND o.variant_id <> $3::uuid AND EXISTS (SELECT 1 FROM added)
      )
      SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
             to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
             l.id::text, l.variant_id::text, l.product_id::text, l.sku, l.title, l.quantity, l.unit_price
      FROM c CROSS JOIN lines l
      ORDER BY l.created_at, l.id)sql"};
  pq::Params params;
  params.add(cart_id);
  params.add(platform::new_uuid_v7());
  params.add(line.variant_id);
  params.add(line.product_id);
  params.add(line.sku);
  params.add(line.title);
  params.add(std::int64_t{line.quantity});
  params.add(line.unit_price);
  params.add(std::int64_t{domain::kMaxQuantity});
  co_return read_cart(co_await pq::query(db, kSql, std::move(params)));
}

void put_line(soci::session& s, const std::string& cart_id, const domain::StoredLine& line) {
  static constexpr pq::Prepared kSql{"cart_put_line_v1", R"sql(
      INSERT INTO cart.items (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
      VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7::int, $8::bigint)
      ON CONFLICT (cart_id, variant_id) DO UPDATE
        SET quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, updated_at = now())sql"};
  pq::Params params;
  params.add(platform::new_uuid_v7());
  params.add(cart_id);
  params.add(line.variant_id);
  params.add(line.product_id);
  params.add(line.sku);
  params.add(line.title);
  params.add(std::int64_t{line.quantity});
  params.add(line.unit_price);
  pq::exec_prepared(s, kSql, params);
}

asio::awaitable<std::optional<std::string>> set_quantity(platform::Database& db, const std::string& cart_id,
                                                         const std::string& item_id, int quantity) {
  static constexpr pq::Prepared kSql{"cart_set_quantity_v1", R"sql(
      WITH changed AS (
        UPDATE cart.items SET quantity = $3::int, updated_at = now()
        WHERE id = $2::uuid AND cart_id = $1::uuid
        RETURNING cart_id
      )
      UPDATE cart.carts c SET updated_at = now() FROM changed WHERE c.id = changed.cart_id
      RETURNING to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'))sql"};
  pq::Params params;
  params.add(cart_id);
  params.add(item_id);
  params.add(std::int64_t{quantity});
  co_return first_text(co_await pq::query(db, kSql, std::move(params)));
}

asio::awaitable<std::optional<std::string>> delete_item(platform::Database& db, const std::string& cart_id,
                                                        const std::string& item_id) {
  static constexpr pq::Prepared kSql{"cart_delete_item_v1", R"sql(
      WITH gone AS (
        DELETE FROM cart.items WHERE id = $2::uuid AND cart_id = $1::uuid
        RETURNING cart_id
      )
      UPDATE cart.carts c SET updated_at = now() FROM gone WHERE c.id = gone.cart_id
      RETURNING to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'))sql"};
  pq::Params params;
  params.add(cart_id);
  params.add(item_id);
  co_return first_text(co_await pq::query(db, kSql, std::move(params)));
}

void touch(soci::session& s, const std::string& cart_id) {
  pq::Params params;
  params.add(cart_id);
  pq::exec(s, R"sql(UPDATE cart.carts SET updated_at = now() WHERE id = $1::uuid)sql", params);
}

asio::awaitable<bool> assign_owner(platform::Database& db, const std::string& cart_id, const std::string& user_id) {
  pq::Params params;
  params.add(cart_id);
  params.add(user_id);
  const auto r = co_await pq::query(db, R"sql(
      UPDATE cart.carts SET user_id = $2::uuid, updated_at = now()
      WHERE id = $1::uuid AND user_id IS NULL AND status = 'open')sql",
                                    std::move(params));
  co_return r.affected_rows() > 0;
}

void delete_cart(soci::session& s, const std::string& cart_id) {
  pq::Params params;
  params.add(cart_id);
  pq::exec(s, R"sql(DELETE FROM cart.carts WHERE id = $1::uuid)sql", params);
}

asio::awaitable<bool> complete(platform::Database& db, const std::string& cart_id, const std::string& order_id) {
  // Idempotent in one statement: either this call completes the open cart, or the cart's current state
  // says whether this order completed it before.
  static constexpr pq::Prepared kSql{"cart_complete_v1", R"sql(
      WITH done AS (
        UPDATE cart.carts SET status = 'completed', order_id = $2::uuid, completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status = 'open'
        RETURNING status, order_id
      )
      SELECT status, order_id::text FROM done
      UNION ALL
      SELECT status, order_id::text FROM cart.carts WHERE id = $1::uuid AND NOT EXISTS (SELECT 1 FROM done))sql"};
  pq::Params params;
  params.add(cart_id);
  params.add(order_id);
  const auto r = co_await pq::query(db, kSql, std::move(params));
  co_return r.rows() > 0 && r.text(0, 0) == "completed" && !r.is_null(0, 1) && r.text(0, 1) == order_id;
}

long long abandon_stale(soci::session& s, long long older_than_seconds) {
  pq::Params params;
  params.add(std::int64_t{older_than_seconds});
  return pq::exec(s, R"sql(
      UPDATE cart.carts SET status = 'abandoned', updated_at = now()
      WHERE status = 'open' AND updated_at < now() - make_interval(secs => $1::bigint))sql",
                  params)
      .affected_rows();
}

void delete_carts_of_user(soci::session& s, const std::string& user_id) {
  pq::Params params;
  params.add(user_id);
  pq::exec(s, R"sql(DELETE FROM cart.carts WHERE user_id = $1::uuid)sql", params);
}

}  // namespace bazaar::cart::repo
