#include "repository.hpp"

#include "domain/lifecycle.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>

namespace bazaar::orders::repo {

using platform::Nullable;
using platform::optional_string;
using platform::use_nullable;

namespace {

constexpr const char* kOrderColumns = R"sql(
    o.id::text, o.number, o.user_id::text, o.email, o.guest_token_hash, o.cart_id::text, o.idempotency_key,
    o.status, o.payment_status, o.currency, o.subtotal, o.shipping_total, o.total, o.refunded_total,
    o.shipping_address::text, o.shipping_option::text, o.payment_method, o.payment_reference,
    o.tracking_carrier, o.tracking_number, o.stock_state, o.cart_completed::int,
    to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql";

OrderRow order_from(const soci::row& r) {
  OrderRow o;
  o.id = r.get<std::string>(0);
  o.number = r.get<long long>(1);
  o.user_id = optional_string(r, 2);
  o.email = r.get<std::string>(3);
  o.guest_token_hash = optional_string(r, 4);
  o.cart_id = r.get<std::string>(5);
  o.idempotency_key = optional_string(r, 6);
  o.status = r.get<std::string>(7);
  o.payment_status = r.get<std::string>(8);
  o.currency = r.get<std::string>(9);
  o.subtotal = r.get<long long>(10);
  o.shipping_total = r.get<long long>(11);
  o.total = r.get<long long>(12);
  o.refunded_total = r.get<long long>(13);
  o.shipping_address = r.get<std::string>(14);
  o.shipping_option = r.get<std::string>(15);
  o.payment_method = r.get<std::string>(16);
  o.payment_reference = optional_string(r, 17);
  o.tracking_carrier = optional_string(r, 18);
  o.tracking_number = optional_string(r, 19);
  o.stock_state = r.get<std::string>(20);
  o.cart_completed = r.get<int>(21) != 0;
  o.created_at = r.get<std::string>(22);
  o.updated_at = r.get<std::string>(23);
  return o;
}

std::vector<OrderLineInfo> lines_of(soci::session& s, const std::string& id) {
  std::vector<OrderLineInfo> out;
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      SELECT variant_id::text, product_id::text, sku, title, quantity, unit_price, line_total
      FROM orders.order_lines WHERE order_id = CAST(:id AS uuid) ORDER BY line_no)sql",
                                  soci::use(id, "id"));
  for (const auto& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3),
                   r.get<int>(4), r.get<long long>(5), r.get<long long>(6)});
  }
  return out;
}

}  // namespace

std::optional<OrderRow> find_order(soci::session& s, const std::string& id, bool for_update) {
  soci::row r;
  s << "SELECT " << kOrderColumns << " FROM orders.orders o WHERE o.id = CAST(:id AS uuid)"
    << (for_update ? " FOR UPDATE" : ""),
      soci::use(id, "id"), soci::into(r);
  if (!s.got_data()) return std::nullopt;
  auto o = order_from(r);
  o.lines = lines_of(s, id);
  return o;
}

std::optional<std::string> live_order_for_cart(soci::session& s, const std::string& cart_id) {
  std::string id;
  s << "SELECT id::text FROM orders.orders WHERE cart_id = CAST(:c AS uuid) AND status <> 'cancelled'",
      soci::use(cart_id, "c"), soci::into(id);
  if (!s.got_data()) return std::nullopt;
  return id;
}

void save_transition(soci::session& s, const OrderRow& o, const std::string& note, const std::string& actor) {
  Nullable reference(o.payment_reference), carrier(o.tracking_carrier), tracking(o.tracking_number);
  const long long refunded = o.refunded_total;
  const std::string history_id = platform::new_uuid_v7();
  s << R"sql(
      WITH upd AS (
        UPDATE orders.orders SET status = :status, payment_status = :pstatus, refunded_total = :refunded,
               payment_reference = :ref, tracking_carrier = :carrier, tracking_number = :tracking, updated_at = now(),
               paid_at = CASE WHEN :status = 'paid' AND paid_at IS NULL THEN now() ELSE paid_at END
        WHERE id = CAST(:id AS uuid) RETURNING id)
      INSERT INTO orders.order_history (id, order_id, status, payment_status, note, actor)
      SELECT CAST(:hid AS uuid), upd.id, :status, :pstatus, :note, :actor FROM upd)sql",
      soci::use(o.status, "status"), soci::use(o.payment_status, "pstatus"), soci::use(refunded, "refunded"),
      use_nullable(reference, "ref"), use_nullable(carrier, "carrier"), use_nullable(tracking, "tracking"),
      soci::use(o.id, "id"), soci::use(history_id, "hid"), soci::use(note, "note"), soci::use(actor, "actor");
}

void set_stock_state(soci::session& s, const std::string& id, const std::string& state) {
  s << "UPDATE orders.orders SET stock_state = :st WHERE id = CAST(:id AS uuid)", soci::use(state, "st"),
      soci::use(id, "id");
}

void set_guest_token_hash(soci::session& s, const std::string& id, const std::string& hash) {
  s << "UPDATE orders.orders SET guest_token_hash = :h WHERE id = CAST(:id AS uuid) AND user_id IS NULL",
      soci::use(hash, "h"), soci::use(id, "id");
}

std::vector<HistoryEntry> history(soci::session& s, const std::string& id) {
  std::vector<HistoryEntry> out;
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      SELECT status, payment_status, note, actor,
             to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      FROM orders.order_history WHERE order_id = CAST(:id AS uuid) ORDER BY at, id)sql",
                                  soci::use(id, "id"));
  for (const auto& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3),
                   r.get<std::string>(4)});
  }
  return out;
}

void insert_refund(soci::session& s, const std::string& order_id, std::int64_t amount, const std::string& reason,
                   const std::string& actor) {
  const std::string id = platform::new_uuid_v7();
  const long long a = amount;
  s << R"sql(INSERT INTO orders.refunds (id, order_id, amount, reason, actor)
             VALUES (CAST(:id AS uuid), CAST(:o AS uuid), :a, :r, :actor))sql",
      soci::use(id, "id"), soci::use(order_id, "o"), soci::use(a, "a"), soci::use(reason, "r"),
      soci::use(actor, "actor");
}

bool record_payment_event(soci::session& s, const std::string& event_id, const std::string& order_id,
                          const std::string& type) {
  soci::statement st = (s.prepare << R"sql(
      INSERT INTO orders.payment_events (event_id, order_id, type) VALUES (:e, CAST(:o AS uuid), :t)
      ON CONFLICT (event_id) DO NOTHING)sql",
                        soci::use(event_id, "e"), soci::use(order_id, "o"), soci::use(type, "t"));
  st.execute(true);
  return st.get_affected_rows() == 1;
}

std::vector<OrderRow> list_orders(soci::session& s, const OrderFilter& f) {
  std::vector<OrderRow> out;
  const std::string user = f.user_id.value_or("");
  const long long number = f.number;
  std::string pattern;
  for (char c : f.email) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern = "%" + pattern + "%";
  const int limit = f.limit;
  soci::rowset<soci::row> rows = (s.prepare << "SELECT " << kOrderColumns << R"sql(
      FROM orders.orders o
      WHERE (:user = '' OR o.user_id = CAST(NULLIF(:user, '') AS uuid))
        AND (:status = '' OR o.status = :status)
        AND (:number < 0 OR o.number = :number)
        AND (:email = '' OR lower(o.email) LIKE lower(:pattern))
        AND (:from = '' OR o.created_at >= CAST(NULLIF(:from, '') AS timestamptz))
        AND (:to = '' OR o.created_at < CAST(NULLIF(:to, '') AS timestamptz))
        AND (:after = '' OR o.id < CAST(NULLIF(:after, '') AS uuid))
      ORDER BY o.id DESC LIMIT :limit)sql",
                                  soci::use(user, "user"), soci::use(f.status, "status"), soci::use(number, "number"),
                                  soci::use(f.email, "email"), soci::use(pattern, "pattern"), soci::use(f.from, "from"),
                                  soci::use(f.to, "to"), soci::use(f.after_id, "after"), soci::use(limit, "limit"));
  for (const auto& r : rows) out.push_back(order_from(r));
  return out;
}

void load_lines(soci::session& s, std::vector<OrderRow>& orders) {
  if (orders.empty()) return;
  std::vector<std::string> ids;
  for (const auto& o : orders) ids.push_back(o.id);
  const std::string array = platform::to_pg_array(ids);
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      SELECT order_id::text, variant_id::text, product_id::text, sku, title, quantity, unit_price, line_total
      FROM orders.order_lines WHERE order_id = ANY(CAST(:ids AS uuid[])) ORDER BY order_id, line_no)sql",
                                  soci::use(array, "ids"));
  for (const auto& r : rows) {
    const auto id = r.get<std::string>(0);
    for (auto& o : orders) {
      if (o.id == id) {
        o.lines.push_back({r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3), r.get<std::string>(4),
                           r.get<int>(5), r.get<long long>(6), r.get<long long>(7)});
        break;
      }
    }
  }
}

std::vector<std::string> stale_pending_orders(soci::session& s, long long older_than_seconds, int limit) {
  std::vector<std::string> out;
  const double secs = static_cast<double>(older_than_seconds);
  soci::rowset<std::string> rows = (s.prepare << R"sql(
      SELECT id::text FROM orders.orders
      WHERE status = 'pending_payment' AND created_at < now() - make_interval(secs => :s)
      ORDER BY created_at LIMIT :limit)sql",
                                    soci::use(secs, "s"), soci::use(limit, "limit"));
  for (const auto& id : rows) out.push_back(id);
  return out;
}

std::vector<std::string> unfinished_sagas(soci::session& s, int limit) {
  std::vector<std::string> out;
  soci::rowset<std::string> rows = (s.prepare << R"sql(
      SELECT id::text FROM orders.orders
      WHERE (status IN ('paid', 'shipped', 'delivered') AND (stock_state = 'reserved' OR NOT cart_completed))
         OR (status = 'cancelled' AND stock_state = 'reserved')
      ORDER BY id LIMIT :limit)sql",
                                    soci::use(limit, "limit"));
  for (const auto& id : rows) out.push_back(id);
  return out;
}

std::vector<std::string> claim_due_give_backs(soci::session& s, long long lease_seconds, int limit) {
  std::vector<std::string> out;
  const double lease = static_cast<double>(lease_seconds);
  soci::rowset<std::string> rows = (s.prepare << R"sql(
      UPDATE orders.orders SET give_back_due_at = now() + make_interval(secs => :lease)
      WHERE id IN (SELECT id FROM orders.orders
                   WHERE give_back_due_at <= now() AND status = 'cancelled' AND payment_status = 'captured'
                   ORDER BY give_back_due_at LIMIT :limit FOR UPDATE SKIP LOCKED)
      RETURNING id::text)sql",
                                    soci::use(lease, "lease"), soci::use(limit, "limit"));
  for (const auto& id : rows) out.push_back(id);
  return out;
}

void postpone_give_back(soci::session& s, const std::string& order_id, long long base_seconds, long long max_seconds) {
  const double base = static_cast<double>(base_seconds);
  const double most = static_cast<double>(max_seconds);
  s << R"sql(
      UPDATE orders.orders
      SET give_back_attempts = give_back_attempts + 1,
          give_back_due_at = now() + make_interval(secs => least(:base * power(2, least(give_back_attempts, 30)), :most))
      WHERE id = CAST(:id AS uuid) AND status = 'cancelled' AND payment_status = 'captured')sql",
      soci::use(base, "base"), soci::use(most, "most"), soci::use(order_id, "id");
}

void anonymise_user_orders(soci::session& s, const std::string& user_id) {
  s << R"sql(
      UPDATE orders.orders
      SET email = 'deleted-user@invalid', user_id = NULL, guest_token_hash = NULL,
          shipping_address = jsonb_build_object('country', shipping_address->>'country',
                                                'postal_code', shipping_address->>'postal_code'),
          updated_at = now()
      WHERE user_id = CAST(:u AS uuid))sql",
      soci::use(user_id, "u");
}

boost::json::array export_user_orders(soci::session& s, const std::string& user_id) {
  std::string text;
  soci::indicator ind = soci::i_null;
  s << R"sql(
      SELECT json_agg(json_build_object(
               'id', o.id, 'number', 'BZR-' || lpad(o.number::text, 6, '0'), 'status', o.status,
               'email', o.email, 'total', json_build_object('amount', o.total, 'currency', o.currency),
               'shipping_address', o.shipping_address, 'created_at', o.created_at,
               'items', (SELECT json_agg(json_build_object('sku', l.sku, 'title', l.title, 'quantity', l.quantity))
                         FROM orders.order_lines l WHERE l.order_id = o.id))
             ORDER BY o.id)
      FROM orders.orders o WHERE o.user_id = CAST(:u AS uuid))sql",
      soci::use(user_id, "u"), soci::into(text, ind);
  if (ind == soci::i_null) return {};
  return boost::json::parse(text).as_array();
}

boost::json::object stats(soci::session& s, const std::string& from, const std::string& to, const std::string& currency) {
  // Revenue = what was paid minus what was refunded, for orders paid in the range. sum(bigint) is numeric in
  // PostgreSQL: cast back, so that money stays integral (the average is an integer division, truncated).
  std::string text;
  s << R"sql(
      WITH paid AS (
        SELECT id, total - refunded_total AS net, paid_at FROM orders.orders
        WHERE paid_at IS NOT NULL AND paid_at >= CAST(:from AS timestamptz) AND paid_at < CAST(:to AS timestamptz)),
      totals AS (SELECT count(*) AS orders, CAST(coalesce(sum(net), 0) AS bigint) AS revenue FROM paid),
      top AS (
        SELECT l.product_id, min(l.title) AS title, sum(l.quantity) AS quantity, CAST(sum(l.line_total) AS bigint) AS revenue
        FROM orders.order_lines l JOIN paid ON paid.id = l.order_id
        GROUP BY l.product_id ORDER BY sum(l.quantity) DESC, l.product_id LIMIT 10),
      days AS (
        SELECT to_char(date_trunc('day', paid_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*) AS orders,
               CAST(sum(net) AS bigint) AS revenue
        FROM paid GROUP BY 1 ORDER BY 1)
      SELECT json_build_object(
        'orders', totals.orders,
        'revenue', json_build_object('amount', totals.revenue, 'currency', CAST(:cur AS text)),
        'average_order', json_build_object('amount', CASE WHEN totals.orders = 0 THEN 0 ELSE totals.revenue / totals.orders END,
                                           'currency', CAST(:cur AS text)),
        'top_products', coalesce((SELECT json_agg(json_build_object('product_id', product_id, 'title', title,
                                   'quantity', quantity, 'revenue', json_build_object('amount', revenue, 'currency', CAST(:cur AS text))))
                                  FROM top), '[]'::json),
        'by_day', coalesce((SELECT json_agg(json_build_object('date', day, 'orders', orders,
                              'revenue', json_build_object('amount', revenue, 'currency', CAST(:cur AS text)))) FROM days), '[]'::json))
      FROM totals)sql",
      soci::use(from, "from"), soci::use(to, "to"), soci::use(currency, "cur"), soci::into(text);
  return boost::json::parse(text).as_object();
}

std::optional<TestPayment> find_test_payment(soci::session& s, const std::string& order_id) {
  TestPayment p;
  long long amount = 0, captured = 0, refunded = 0;
  s << "SELECT reference, outcome, amount, captured, refunded FROM orders.test_payments WHERE order_id = CAST(:o AS uuid)",
      soci::use(order_id, "o"), soci::into(p.reference), soci::into(p.outcome), soci::into(amount),
      soci::into(captured), soci::into(refunded);
  if (!s.got_data()) return std::nullopt;
  p.amount = amount;
  p.captured = captured;
  p.refunded = refunded;
  return p;
}

void update_test_payment(soci::session& s, const std::string& order_id, const TestPayment& p) {
  const long long captured = p.captured, refunded = p.refunded;
  s << R"sql(UPDATE orders.test_payments SET outcome = :outcome, captured = :captured, refunded = :refunded
             WHERE order_id = CAST(:o AS uuid))sql",
      soci::use(p.outcome, "outcome"), soci::use(captured, "captured"), soci::use(refunded, "refunded"),
      soci::use(order_id, "o");
}

}  // namespace bazaar::orders::repo
