// Customer order routes and the payment webhook: parse → service → reply.
#include "routes.hpp"

#include "domain/lifecycle.hpp"

#include <platform/idempotency.hpp>
#include <platform/ids.hpp>
#include <platform/money.hpp>
#include <platform/pagination.hpp>

namespace bazaar::orders {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;
using platform::FieldReader;
using platform::Money;

json::object order_json(const repo::OrderRow& o) {
  json::array items;
  for (const auto& l : o.lines) {
    items.push_back(json::object{{"variant_id", l.variant_id},
                                 {"product_id", l.product_id},
                                 {"sku", l.sku},
                                 {"title", l.title},
                                 {"quantity", l.quantity},
                                 {"unit_price", platform::money_json(Money{l.unit_price, o.currency})},
                                 {"line_total", platform::money_json(Money{l.line_total, o.currency})}});
  }
  json::value tracking = nullptr;
  if (o.tracking_carrier && o.tracking_number) {
    tracking = json::object{{"carrier", *o.tracking_carrier}, {"tracking_number", *o.tracking_number}};
  }
  return {{"id", o.id},
          {"number", domain::format_number(o.number)},
          {"status", o.status},
          {"payment_status", o.payment_status},
          {"email", o.email},
          {"items", std::move(items)},
          {"subtotal", platform::money_json(Money{o.subtotal, o.currency})},
          {"shipping_total", platform::money_json(Money{o.shipping_total, o.currency})},
          {"total", platform::money_json(Money{o.total, o.currency})},
          {"refunded_total", platform::money_json(Money{o.refunded_total, o.currency})},
          {"shipping_address", json::parse(o.shipping_address)},
          {"shipping_option", json::parse(o.shipping_option)},
          {"tracking", std::move(tracking)},
          {"created_at", o.created_at},
          {"updated_at", o.updated_at}};
}

namespace {

std::optional<std::string> caller(const Request& rq) {
  if (!rq.principal) return std::nullopt;
  return rq.principal->user_id;
}

asio::awaitable<Reply> shipping_options(Request&, Service& svc) {
  json::array items;
  for (const auto& o : svc.settings().shipping_options) {
    items.push_back(json::object{{"id", o.id}, {"name", o.name},
                                 {"price", platform::money_json(Money{o.price, svc.settings().currency})}});
  }
  Reply r = http::json_reply(200, json::object{{"items", std::move(items)}});
  r.headers.set("Cache-Control", "public, max-age=60");
  co_return r;
}

Reply created(const CheckoutResult& placed) {
  auto doc = order_json(placed.order);
  if (placed.guest_token) doc["guest_token"] = *placed.guest_token;
  Reply reply = http::json_reply(201, doc);
  reply.headers.set("Location", "/api/v1/orders/" + placed.order.id);
  return reply;
}

asio::awaitable<Reply> create_order(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  CheckoutInput in;
  auto cart_id = r.string("cart_id", true, 36, 36);
  if (cart_id && !platform::is_uuid(*cart_id)) r.fail("cart_id", "must be a UUID");
  if (auto email = r.string("email", false, 3, 254)) {
    auto at = email->find('@');
    if (at == std::string::npos || at == 0 || email->find('.', at) == std::string::npos ||
        email->find(' ') != std::string::npos) {
      r.fail("email", "must be a valid email address");
    } else {
      std::string lower = *email;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.email = lower;
    }
  }
  if (const auto* address = r.object("shipping_address", true)) {
    if (address->contains("address_id")) {
      FieldReader a(*address, "shipping_address");
      auto id = a.string("address_id", true, 36, 36);
      if (id && !platform::is_uuid(*id)) a.fail("address_id", "must be a UUID");
      for (const auto& e : a.errors()) r.fail(e.field, e.message);
      if (a.ok()) in.address_id = *platform::normalize_uuid(*id);
    } else {
      in.address_fields = *address;
    }
  }
  auto option = r.string("shipping_option_id", true, 1, 100);
  if (const auto* payment = r.object("payment", true)) {
    FieldReader p(*payment, "payment");
    auto method = p.string("method", true, 1, 50);
    auto token = p.string("token", true, 1, 255);
    for (const auto& e : p.errors()) r.fail(e.field, e.message);
    if (method && token) {
      in.payment_method = *method;
      in.token = *token;
    }
  }
  if (!r.ok()) co_return http::problem(r.error(), rq);
  in.cart_id = *platform::normalize_uuid(*cart_id);
  in.shipping_option_id = *option;
  in.user_id = caller(rq);
  if (auto key = rq.header("Idempotency-Key")) in.idempotency_key = std::string(*key);
  // The response is rendered for the checkout's last write and stored under the Idempotency-Key with it:
  // no round trip of its own after the handler. That write is the checkout's last step, so the result
  // it was rendered from is the one the checkout returns.
  std::optional<Reply> stored;
  in.last_write = [&rq, &stored](const CheckoutResult& placed, platform::pq::Pipeline& batch) {
    stored = created(placed);
    http::store_response(rq, *stored, batch);
  };
  auto result = co_await svc.checkout(std::move(in));
  if (!result) co_return http::problem(result.error(), rq);
  if (stored) co_return std::move(*stored);
  co_return created(*result);
}

asio::awaitable<Reply> list_orders(Request& rq, Service& svc) {
  auto page = platform::parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  repo::OrderFilter f;
  f.user_id = std::string(rq.user_id());
  f.status = rq.query_param("status").value_or("");
  if (!f.status.empty() && !domain::is_status(f.status)) {
    co_return http::problem(Error::validation("status", "is not an order status"), rq);
  }
  if (!page->after.empty() && !platform::is_uuid(page->after[0])) {
    co_return http::problem(Error::validation("cursor", "is not valid"), rq);
  }
  f.after_id = page->after.empty() ? "" : page->after[0];
  f.limit = page->limit + 1;
  auto orders = co_await svc.list(f);
  co_return http::json_reply(
      200, platform::keyset_page_json(orders, page->limit, [](const auto& row) { return order_json(row); }));
}

asio::awaitable<Reply> get_order(Request& rq, Service& svc) {
  auto order = co_await svc.order_for(std::string(rq.param("id")), caller(rq), rq.query_param("token"));
  if (!order) co_return http::problem(order.error(), rq);
  co_return http::json_reply(200, order_json(*order));
}

asio::awaitable<Reply> cancel_order(Request& rq, Service& svc) {
  auto order = co_await svc.cancel_by_customer(std::string(rq.param("id")), caller(rq), rq.query_param("token"));
  if (!order) co_return http::problem(order.error(), rq);
  co_return http::json_reply(200, order_json(*order));
}

asio::awaitable<Reply> webhook(Request& rq, Service& svc) {
  auto ok = co_await svc.handle_webhook(rq);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

}  // namespace

void register_customer_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/api/v1/shipping-options", Access::public_route, bind(shipping_options));
  r.post("/api/v1/orders", Access::public_route, bind(create_order));
  r.get("/api/v1/orders", Access::authenticated, bind(list_orders));
  r.get("/api/v1/orders/{id:uuid}", Access::public_route, bind(get_order));
  r.post("/api/v1/orders/{id:uuid}/cancel", Access::public_route, bind(cancel_order));
  r.post("/api/v1/payments/webhook", Access::public_route, bind(webhook));
}

}  // namespace bazaar::orders
