#include "repository.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>

namespace bazaar::cart::repo {

using platform::Nullable;
using platform::optional_string;
using platform::use_nullable;

void insert_cart(soci::session& s, const std::string& id, const std::optional<std::string>& user_id,
                 const std::string& currency) {
  Nullable user(user_id);
  s << R"sql(INSERT INTO cart.carts (id, user_id, currency) VALUES (CAST(:id AS uuid), CAST(:user AS uuid), :cur))sql",
      soci::use(id, "id"), use_nullable(user, "user"), soci::use(currency, "cur");
}

std::optional<CartRow> find_cart(soci::session& s, const std::string& cart_id) {
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      SELECT c.id::text, c.user_id::text, c.status, c.order_id::text, c.currency,
             to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             i.id::text, i.variant_id::text, i.product_id::text, i.sku, i.title, i.quantity, i.unit_price
      FROM cart.carts c LEFT JOIN cart.items i ON i.cart_id = c.id
      WHERE c.id = CAST(:id AS uuid)
      ORDER BY i.created_at, i.id)sql",
                                  soci::use(cart_id, "id"));
  std::optional<CartRow> cart;
  for (const auto& r : rows) {
    if (!cart) {
      cart = CartRow{r.get<std::string>(0), optional_string(r, 1), r.get<std::string>(2), optional_string(r, 3),
                     r.get<std::string>(4), r.get<std::string>(5), {}};
    }
    if (r.get_indicator(6) == soci::i_null) continue;  // a cart without lines
    cart->lines.push_back({r.get<std::string>(6), r.get<std::string>(7), r.get<std::string>(8), r.get<std::string>(9),
                           r.get<std::string>(10), r.get<int>(11), r.get<long long>(12)});
  }
  return cart;
}

std::optional<std::string> open_cart_of(soci::session& s, const std::string& user_id) {
  std::string id;
  s << "SELECT id::text FROM cart.carts WHERE user_id = CAST(:u AS uuid) AND status = 'open'", soci::use(user_id, "u"),
      soci::into(id);
  if (!s.got_data()) return std::nullopt;
  return id;
}

std::optional<int> add_quantity(soci::session& s, const std::string& cart_id, const domain::StoredLine& line) {
  const std::string id = platform::new_uuid_v7();
  const long long price = line.unit_price;
  const int max = domain::kMaxQuantity;
  int quantity = 0;
  // One statement: the cart must be open (and is touched), the line is inserted or increased atomically.
  s << R"sql(
      WITH c AS (UPDATE cart.carts SET updated_at = now() WHERE id = CAST(:cart AS uuid) AND status = 'open'
                 RETURNING id)
      INSERT INTO cart.items (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
      SELECT CAST(:id AS uuid), c.id, CAST(:variant AS uuid), CAST(:product AS uuid), :sku, :title, :qty, :price FROM c
      ON CONFLICT (cart_id, variant_id) DO UPDATE
        SET quantity = cart.items.quantity + EXCLUDED.quantity, unit_price = EXCLUDED.unit_price,
            sku = EXCLUDED.sku, title = EXCLUDED.title, updated_at = now()
        WHERE cart.items.quantity + EXCLUDED.quantity <= :max
      RETURNING quantity)sql",
      soci::use(cart_id, "cart"), soci::use(id, "id"), soci::use(line.variant_id, "variant"),
      soci::use(line.product_id, "product"), soci::use(line.sku, "sku"), soci::use(line.title, "title"),
      soci::use(line.quantity, "qty"), soci::use(price, "price"), soci::use(max, "max"), soci::into(quantity);
  if (!s.got_data()) return std::nullopt;
  return quantity;
}

void put_line(soci::session& s, const std::string& cart_id, const domain::StoredLine& line) {
  const std::string id = platform::new_uuid_v7();
  const long long price = line.unit_price;
  s << R"sql(
      INSERT INTO cart.items (id, cart_id, variant_id, product_id, sku, title, quantity, unit_price)
      VALUES (CAST(:id AS uuid), CAST(:cart AS uuid), CAST(:variant AS uuid), CAST(:product AS uuid), :sku, :title,
              :qty, :price)
      ON CONFLICT (cart_id, variant_id) DO UPDATE
        SET quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, updated_at = now())sql",
      soci::use(id, "id"), soci::use(cart_id, "cart"), soci::use(line.variant_id, "variant"),
      soci::use(line.product_id, "product"), soci::use(line.sku, "sku"), soci::use(line.title, "title"),
      soci::use(line.quantity, "qty"), soci::use(price, "price");
}

bool set_quantity(soci::session& s, const std::string& cart_id, const std::string& item_id, int quantity) {
  soci::statement st = (s.prepare << R"sql(
      UPDATE cart.items SET quantity = :q, updated_at = now()
      WHERE id = CAST(:item AS uuid) AND cart_id = CAST(:cart AS uuid))sql",
                        soci::use(quantity, "q"), soci::use(item_id, "item"), soci::use(cart_id, "cart"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool delete_item(soci::session& s, const std::string& cart_id, const std::string& item_id) {
  soci::statement st = (s.prepare << R"sql(
      DELETE FROM cart.items WHERE id = CAST(:item AS uuid) AND cart_id = CAST(:cart AS uuid))sql",
                        soci::use(item_id, "item"), soci::use(cart_id, "cart"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

std::string touch(soci::session& s, const std::string& cart_id) {
  std::string updated_at;
  s << R"sql(UPDATE cart.carts SET updated_at = now() WHERE id = CAST(:id AS uuid)
             RETURNING to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql",
      soci::use(cart_id, "id"), soci::into(updated_at);
  return updated_at;
}

bool assign_owner(soci::session& s, const std::string& cart_id, const std::string& user_id) {
  soci::statement st = (s.prepare << R"sql(
      UPDATE cart.carts SET user_id = CAST(:u AS uuid), updated_at = now()
      WHERE id = CAST(:id AS uuid) AND user_id IS NULL AND status = 'open')sql",
                        soci::use(user_id, "u"), soci::use(cart_id, "id"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

void delete_cart(soci::session& s, const std::string& cart_id) {
  s << "DELETE FROM cart.carts WHERE id = CAST(:id AS uuid)", soci::use(cart_id, "id");
}

bool complete(soci::session& s, const std::string& cart_id, const std::string& order_id) {
  std::string status, current_order;
  soci::indicator order_ind = soci::i_null;
  s << R"sql(
      WITH done AS (
        UPDATE cart.carts SET status = 'completed', order_id = CAST(:o AS uuid), completed_at = now(), updated_at = now()
        WHERE id = CAST(:id AS uuid) AND status = 'open'
        RETURNING status, order_id)
      SELECT status, order_id::text FROM done
      UNION ALL
      SELECT status, order_id::text FROM cart.carts WHERE id = CAST(:id AS uuid) AND NOT EXISTS (SELECT 1 FROM done))sql",
      soci::use(order_id, "o"), soci::use(cart_id, "id"), soci::into(status), soci::into(current_order, order_ind);
  return s.got_data() && status == "completed" && order_ind == soci::i_ok && current_order == order_id;
}

long long abandon_stale(soci::session& s, long long older_than_seconds) {
  const double seconds = static_cast<double>(older_than_seconds);
  soci::statement st = (s.prepare << R"sql(
      UPDATE cart.carts SET status = 'abandoned', updated_at = now()
      WHERE status = 'open' AND updated_at < now() - make_interval(secs => :s))sql",
                        soci::use(seconds, "s"));
  st.execute(true);
  return st.get_affected_rows();
}

void delete_carts_of_user(soci::session& s, const std::string& user_id) {
  s << "DELETE FROM cart.carts WHERE user_id = CAST(:u AS uuid)", soci::use(user_id, "u");
}

}  // namespace bazaar::cart::repo
