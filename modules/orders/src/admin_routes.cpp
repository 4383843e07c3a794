// Admin order management: list/search, detail with history, ship, deliver, refund, stats.
#include "domain/lifecycle.hpp"
#include "routes.hpp"

#include <platform/ids.hpp>
#include <platform/money.hpp>
#include <platform/db.hpp>
#include <platform/pagination.hpp>

namespace bazaar::orders {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;
using platform::FieldReader;

namespace {

// Accepts "2026-11-21" or a full RFC 3339 timestamp; PostgreSQL does the parsing, we check the shape.
bool plausible_time(std::string_view s) {
  if (s.size() < 10 || s.size() > 35) return false;
  return std::isdigit(static_cast<unsigned char>(s[0])) && s[4] == '-' && s[7] == '-' &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '.' || c == '+' || c == 'T' || c == 'Z'; });
}

asio::awaitable<Reply> list_orders(Request& rq, Service& svc) {
  auto page = platform::parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  repo::OrderFilter f;
  std::vector<platform::FieldError> errors;
  f.status = rq.query_param("status").value_or("");
  if (!f.status.empty() && !domain::is_status(f.status)) errors.push_back({"status", "is not an order status"});
  const std::string q = rq.query_param("q").value_or("");
  if (q.size() > 200) errors.push_back({"q", "must be at most 200 characters"});
  if (!q.empty()) {
    if (auto n = domain::parse_number(q); n >= 0) {
      f.number = n;
    } else {
      f.email = q;
    }
  }
  f.from = rq.query_param("from").value_or("");
  f.to = rq.query_param("to").value_or("");
  if (!f.from.empty() && !plausible_time(f.from)) errors.push_back({"from", "must be a date or RFC 3339 time"});
  if (!f.to.empty() && !plausible_time(f.to)) errors.push_back({"to", "must be a date or RFC 3339 time"});
  if (!page->after.empty() && !platform::is_uuid(page->after[0])) errors.push_back({"cursor", "is not valid"});
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  f.after_id = page->after.empty() ? "" : page->after[0];
  f.limit = page->limit + 1;
  auto orders = co_await svc.list(f);
  co_return http::json_reply(
      200, platform::keyset_page_json(orders, page->limit, [](const auto& row) { return order_json(row); }));
}

asio::awaitable<Reply> with_history(Request& rq, Service& svc, const Result<repo::OrderRow>& order) {
  if (!order) co_return http::problem(order.error(), rq);
  auto doc = order_json(*order);
  json::array history;
  for (const auto& h : co_await svc.history(order->id)) {
    history.push_back(json::object{{"status", h.status}, {"payment_status", h.payment_status}, {"at", h.at},
                                   {"note", h.note}, {"actor", h.actor}});
  }
  doc["history"] = std::move(history);
  co_return http::json_reply(200, doc);
}

asio::awaitable<Reply> get_order(Request& rq, Service& svc) {
  auto order = co_await svc.order_for_admin(std::string(rq.param("id")));
  co_return co_await with_history(rq, svc, order);
}

asio::awaitable<Reply> ship(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto carrier = r.string("carrier", true, 1, 100);
  auto tracking = r.string("tracking_number", true, 1, 100);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto order = co_await svc.ship(rq, std::string(rq.param("id")), *carrier, *tracking);
  co_return co_await with_history(rq, svc, order);
}

asio::awaitable<Reply> deliver(Request& rq, Service& svc) {
  auto order = co_await svc.deliver(rq, std::string(rq.param("id")));
  co_return co_await with_history(rq, svc, order);
}

asio::awaitable<Reply> refund(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto amount = platform::read_money(r, "amount", false, svc.settings().currency, 1);
  auto reason = r.string("reason", true, 1, 500);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  std::optional<std::int64_t> value;
  if (amount) value = amount->amount;
  auto order = co_await svc.refund(rq, std::string(rq.param("id")), value, *reason);
  co_return co_await with_history(rq, svc, order);
}

asio::awaitable<Reply> stats(Request& rq, Service& svc) {
  std::string from = rq.query_param("from").value_or("");
  std::string to = rq.query_param("to").value_or("");
  std::vector<platform::FieldError> errors;
  if (!from.empty() && !plausible_time(from)) errors.push_back({"from", "must be a date or RFC 3339 time"});
  if (!to.empty() && !plausible_time(to)) errors.push_back({"to", "must be a date or RFC 3339 time"});
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  if (from.empty()) from = "1970-01-01";
  if (to.empty()) to = "9999-12-31";
  try {
    co_return http::json_reply(200, co_await svc.stats(from, to));
  } catch (const std::exception& e) {
    if (platform::sqlstate_of(e).rfind("22", 0) != 0) throw;  // 22xxx: PostgreSQL could not read the time
  }
  co_return http::problem(Error::validation("from", "from/to must be valid dates"), rq);
}

}  // namespace

void register_admin_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/admin/v1/orders", Access::admin, bind(list_orders));
  r.get("/admin/v1/orders/{id:uuid}", Access::admin, bind(get_order));
  r.post("/admin/v1/orders/{id:uuid}/ship", Access::admin, bind(ship));
  r.post("/admin/v1/orders/{id:uuid}/deliver", Access::admin, bind(deliver));
  r.post("/admin/v1/orders/{id:uuid}/refund", Access::admin, bind(refund));
  r.get("/admin/v1/stats", Access::admin, bind(stats));
}

}  // namespace bazaar::orders
