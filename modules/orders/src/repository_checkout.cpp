// The checkout's hot statements, on the platform's libpq path (platform/pq.hpp): prepared once per
// connection, and the multi-statement steps sent as pipelined batches — one round trip, one implicit
// transaction each. DESIGN.md: the order and its event commit together; here they also travel together.
#include "repository.hpp"

#include <platform/ids.hpp>
#include <platform/pq.hpp>

namespace bazaar::orders::repo {

namespace pq = platform::pq;
namespace asio = boost::asio;

namespace {

constexpr pq::Prepared kInsertOrder{"orders_insert_order_v1", R"sql(
    WITH ord AS (
      INSERT INTO orders.orders (id, number, user_id, email, guest_token_hash, cart_id, idempotency_key, status,
                                 payment_status, currency, subtotal, shipping_total, total, shipping_address,
                                 shipping_option, payment_method)
      VALUES ($1::uuid, $2::bigint, $3::uuid, $4, $5, $6::uuid, $7, $8, $9, $10, $11::bigint, $12::bigint,
              $13::bigint, $14::jsonb, $15::jsonb, $16)
      RETURNING id, created_at),
    lines AS (
      INSERT INTO orders.order_lines (order_id, line_no, variant_id, product_id, sku, title, quantity, unit_price,
                                      line_total)
      SELECT ord.id, l.n, l.variant, l.product, l.sku, l.title, l.qty, l.price, l.price * l.qty
      FROM ord, unnest($17::uuid[], $18::uuid[], $19::text[], $20::text[], $21::int[], $22::bigint[])
                WITH ORDINALITY AS l(variant, product, sku, title, qty, price, n)),
    hist AS (
      INSERT INTO orders.order_history (id, order_id, status, payment_status, note)
      SELECT $23::uuid, ord.id, $8, $9, 'order placed' FROM ord)
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM ord)sql"};

// Pending → paid, with its history entry; platform.expect fails the whole batch (and so the OrderPaid
// published with it) when the order is no longer pending: a webhook, the reconciler or a cancellation
// settled it first, and the caller re-reads it.
constexpr pq::Prepared kMarkPaid{"orders_mark_paid_v1", R"sql(
    WITH upd AS (
      UPDATE orders.orders
      SET status = 'paid', payment_status = $2, payment_reference = $3, updated_at = now(),
          paid_at = coalesce(paid_at, now())
      WHERE id = $1::uuid AND status = 'pending_payment'
      RETURNING id, updated_at),
    hist AS (
      INSERT INTO orders.order_history (id, order_id, status, payment_status, note, actor)
      SELECT $4::uuid, upd.id, 'paid', $2, $5, 'system' FROM upd)
    SELECT platform.expect(count(*) = 1, 'the order is still pending payment'),
           to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM upd)sql"};

// What became of the payment of an order that was cancelled while the checkout's payment was being taken
// (Service::give_back_payment), or of a refund of it retried by the reconciler: payment_status and
// refunded_total, a refund row when money went back ($3 > 0) and a history entry; the status stays. The
// give-back counts as an attempt; a refused refund ($9: seconds, else NULL) makes it due again then.
// platform.expect fails the batch, and so what it publishes, unless the order still shows the payment
// status the caller found ($8): each give-back is recorded once.
constexpr pq::Prepared kRecordGiveBack{"orders_record_give_back_v2", R"sql(
    WITH upd AS (
      UPDATE orders.orders
      SET payment_status = $2, refunded_total = $3::bigint, updated_at = now(),
          give_back_attempts = give_back_attempts + 1, give_back_due_at = now() + make_interval(secs => $9::int)
      WHERE id = $1::uuid AND status = 'cancelled' AND payment_status = $8
      RETURNING id, status, updated_at),
    refund AS (
      INSERT INTO orders.refunds (id, order_id, amount, reason, actor)
      SELECT $4::uuid, upd.id, $3::bigint, $5, 'system' FROM upd WHERE $3::bigint > 0),
    hist AS (
      INSERT INTO orders.order_history (id, order_id, status, payment_status, note, actor)
      SELECT $6::uuid, upd.id, upd.status, $2, $7, 'system' FROM upd)
    SELECT platform.expect(count(*) = 1, 'the cancelled order still shows the payment status its give-back found'),
           to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM upd)sql"};

constexpr pq::Prepared kSagaState{"orders_saga_state_v1", R"sql(
    UPDATE orders.orders SET stock_state = $2, cart_completed = $3::boolean WHERE id = $1::uuid)sql"};

constexpr pq::Prepared kOrderNumbers{"orders_next_numbers_v1", R"sql(
    SELECT nextval('orders.order_number_seq') FROM generate_series(1, $1::int))sql"};

constexpr pq::Prepared kPutTestPayment{"orders_put_test_payment_v1", R"sql(
    WITH added AS (
      INSERT INTO orders.test_payments (order_id, reference, outcome, amount, captured)
      VALUES ($1::uuid, $2, $3, $4::bigint, $5::bigint) ON CONFLICT (order_id) DO NOTHING
      RETURNING reference, outcome, amount, captured, refunded)
    SELECT * FROM added
    UNION ALL
    SELECT reference, outcome, amount, captured, refunded FROM orders.test_payments
    WHERE order_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM added))sql"};

}  // namespace

std::size_t add_insert_order(pq::Pipeline& batch, const OrderRow& o) {
  std::vector<std::string> variants, products, skus, titles;
  std::vector<std::int64_t> quantities, prices;
  for (const auto& l : o.lines) {
    variants.push_back(l.variant_id);
    products.push_back(l.product_id);
    skus.push_back(l.sku);
    titles.push_back(l.title);
    quantities.push_back(l.quantity);
    prices.push_back(l.unit_price);
  }
  pq::Params p;
  p.add(o.id);
  p.add(o.number);
  p.add(o.user_id);
  p.add(o.email);
  p.add(o.guest_token_hash);
  p.add(o.cart_id);
  p.add(o.idempotency_key);
  p.add(o.status);
  p.add(o.payment_status);
  p.add(o.currency);
  p.add(o.subtotal);
  p.add(o.shipping_total);
  p.add(o.total);
  p.add(o.shipping_address);
  p.add(o.shipping_option);
  p.add(o.payment_method);
  p.add(pq::array_literal(variants));
  p.add(pq::array_literal(products));
  p.add(pq::array_literal(skus));
  p.add(pq::array_literal(titles));
  p.add(pq::array_literal(quantities));
  p.add(pq::array_literal(prices));
  p.add(platform::new_uuid_v7());
  return batch.add(kInsertOrder, std::move(p));
}

void read_inserted_order(const pq::Result& r, OrderRow& o) {
  o.created_at = r.string(0, 0);
  o.updated_at = o.created_at;
}

std::size_t add_mark_paid(pq::Pipeline& batch, const OrderRow& paid, const std::string& note) {
  pq::Params p;
  p.add(paid.id);
  p.add(paid.payment_status);
  p.add(paid.payment_reference);
  p.add(platform::new_uuid_v7());
  p.add(note);
  return batch.add(kMarkPaid, std::move(p));
}

void read_marked_paid(const pq::Result& r, OrderRow& o) { o.updated_at = r.string(0, 1); }

std::size_t add_give_back(pq::Pipeline& batch, const OrderRow& o, const std::string& reason, const std::string& note,
                          const std::string& found_payment_status, std::optional<std::int64_t> retry_in_seconds) {
  pq::Params p;
  p.add(o.id);
  p.add(o.payment_status);
  p.add(o.refunded_total);
  p.add(platform::new_uuid_v7());
  p.add(reason);
  p.add(platform::new_uuid_v7());
  p.add(note);
  p.add(found_payment_status);
  if (retry_in_seconds) {
    p.add(*retry_in_seconds);
  } else {
    p.add_null();
  }
  return batch.add(kRecordGiveBack, std::move(p));
}

void read_given_back(const pq::Result& r, OrderRow& o) { o.updated_at = r.string(0, 1); }

std::size_t add_saga_state(pq::Pipeline& batch, const std::string& id, const std::string& stock_state,
                           bool cart_completed) {
  pq::Params p;
  p.add(id);
  p.add(stock_state);
  p.add(std::string(cart_completed ? "true" : "false"));
  return batch.add(kSagaState, std::move(p));
}

asio::awaitable<std::vector<std::int64_t>> next_order_numbers(platform::Database& db, int count) {
  pq::Params p;
  p.add(static_cast<std::int64_t>(count));
  auto r = co_await pq::query(db, kOrderNumbers, std::move(p));
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.integer(i, 0));
  co_return out;
}

asio::awaitable<TestPayment> put_test_payment(platform::Database& db, const std::string& order_id,
                                              const TestPayment& payment) {
  pq::Params p;
  p.add(order_id);
  p.add(payment.reference);
  p.add(payment.outcome);
  p.add(payment.amount);
  p.add(payment.captured);
  auto r = co_await pq::query(db, kPutTestPayment, std::move(p));
  co_return TestPayment{r.string(0, 0), r.string(0, 1), r.integer(0, 2), r.integer(0, 3), r.integer(0, 4)};
}

}  // namespace bazaar::orders::repo
