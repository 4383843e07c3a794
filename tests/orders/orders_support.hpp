#pragma once
// Helpers for the orders tests: checkouts, admin actions and webhooks over HTTP, and direct looks at what
// the modules stored (SQL) where the API does not show it (stock, refunds, the outbox, saga bookkeeping).
// Every test makes its own users, products and carts, because all tests share one database.
#include "support/shop.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::orders_test {

namespace json = boost::json;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::Shopper;
using testing::Stock;
using testing::TestApp;

inline std::string str(const json::value& v) { return json::value_to<std::string>(v); }
inline std::int64_t num(const json::value& v) { return v.to_number<std::int64_t>(); }
inline std::string key(const std::string& tag) { return tag + "-" + testing::unique_suffix(); }
inline std::string guest_email() { return "guest-" + testing::unique_suffix() + "@example.com"; }

// The problem code of an error response (and a check that it is a problem document).
inline std::string problem_code(const HttpResponse& r) {
  CHECK(r.header("Content-Type").value_or("").rfind("application/problem+json", 0) == 0);
  const auto doc = r.json();
  CHECK(doc.at("status") == r.status);
  return doc.as_object().contains("code") ? str(doc.at("code")) : std::string();
}

struct Placed {
  std::string id;
  std::string cart_id;
  std::int64_t total = 0;
  json::object order;  // the 201 body
};

inline Placed placed_from(const HttpResponse& r, const std::string& cart_id) {
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto doc = r.json().as_object();
  return {str(doc.at("id")), cart_id, num(doc.at("total").at("amount")), doc};
}

// A customer's paid (tok_visa) or pending (tok_async) order of `quantity` units of one variant.
inline Placed order_of(TestApp& app, const Shopper& customer, const Stock& stock, int quantity,
                       const std::string& token = "tok_visa") {
  const auto cart = testing::new_cart(app, customer.token, {{stock.variant_id, quantity}});
  return placed_from(testing::place_order(app, testing::checkout_body(cart, token), customer.token, key("order")), cart);
}

// A guest's order (its 201 body has the guest_token).
inline Placed guest_order_of(TestApp& app, const Stock& stock, int quantity, const std::string& token = "tok_visa") {
  const auto cart = testing::new_cart(app, {}, {{stock.variant_id, quantity}});
  return placed_from(testing::place_order(app, testing::checkout_body(cart, token, guest_email()), {}, key("guest-order")),
                     cart);
}

inline HttpResponse admin_post(TestApp& app, const Shopper& admin, const std::string& order_id,
                               const std::string& action, const json::object& body = {},
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
  return app.http().post_json("/admin/v1/orders/" + order_id + "/" + action, body, admin.token, std::move(headers));
}

inline HttpResponse ship(TestApp& app, const Shopper& admin, const std::string& order_id) {
  return admin_post(app, admin, order_id, "ship", json::object{{"carrier", "DHL"}, {"tracking_number", "TRK-1"}});
}

inline HttpResponse refund(TestApp& app, const Shopper& admin, const std::string& order_id,
                           std::optional<std::int64_t> amount, const std::string& idempotency_key = {}) {
  json::object body{{"reason", "test refund"}};
  if (amount) body["amount"] = json::object{{"amount", *amount}, {"currency", "EUR"}};
  std::vector<std::pair<std::string, std::string>> headers;
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  return admin_post(app, admin, order_id, "refund", body, std::move(headers));
}

inline HttpResponse cancel(TestApp& app, const std::string& order_id, const std::string& token,
                           const std::string& guest_token = {}) {
  std::string target = "/api/v1/orders/" + order_id + "/cancel";
  if (!guest_token.empty()) target += "?token=" + guest_token;
  return app.http().post_json(target, json::object{}, token);
}

inline json::object admin_order(TestApp& app, const Shopper& admin, const std::string& order_id) {
  auto r = app.http().get("/admin/v1/orders/" + order_id, admin.token);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().as_object();
}

// The body of a provider webhook event.
inline std::string webhook_event(const std::string& event_id, const std::string& type, const std::string& order_id,
                                 std::int64_t amount, const std::string& currency = "EUR") {
  return json::serialize(json::object{
      {"id", event_id},
      {"type", type},
      {"data", {{"order_id", order_id}, {"amount", {{"amount", amount}, {"currency", currency}}}}}});
}

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// SQL with one text parameter (:p), returning one scalar.
template <class T>
T scalar(TestApp& app, const std::string& sql, const std::string& param) {
  T out{};
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(param, "p"), soci::into(out); });
  return out;
}

inline void exec_sql(TestApp& app, const std::string& sql, const std::string& param) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(param, "p"); });
}

// Ages an order past orders.pending_payment_timeout_seconds, as if it had waited that long.
inline void age_past_payment_timeout(TestApp& app, const std::string& order_id) {
  const auto timeout = app.platform().config().integer("orders.pending_payment_timeout_seconds", 1800);
  exec_sql(app,
           "UPDATE orders.orders SET created_at = now() - make_interval(secs => " + std::to_string(timeout + 60) +
               ") WHERE id = CAST(:p AS uuid)",
           order_id);
}

inline long long refund_rows(TestApp& app, const std::string& order_id) {
  return scalar<long long>(app, "SELECT count(*) FROM orders.refunds WHERE order_id = CAST(:p AS uuid)", order_id);
}

// Event types published for an order, oldest first.
inline std::vector<std::string> event_types(TestApp& app, const std::string& order_id) {
  std::vector<std::string> types;
  app.platform().db().run_sync([&](soci::session& s) {
    soci::rowset<std::string> rows =
        (s.prepare << "SELECT type FROM platform.outbox WHERE aggregate_id = :p ORDER BY occurred_at, id",
         soci::use(order_id, "p"));
    for (const auto& t : rows) types.push_back(t);
  });
  return types;
}

// The payload of the (only / last) event of `type` for an order.
inline json::object event_payload(TestApp& app, const std::string& order_id, const std::string& type) {
  std::string payload;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT payload::text FROM platform.outbox WHERE aggregate_id = :p AND type = :t ORDER BY occurred_at DESC, id "
         "DESC LIMIT 1",
        soci::use(order_id, "p"), soci::use(type, "t"), soci::into(payload);
  });
  REQUIRE_MESSAGE(!payload.empty(), "no ", type, " event for ", order_id);
  return json::parse(payload).as_object();
}

inline std::string cart_status(TestApp& app, const std::string& cart_id) {
  return scalar<std::string>(app, "SELECT status FROM cart.carts WHERE id = CAST(:p AS uuid)", cart_id);
}

}  // namespace bazaar::orders_test
