// Cart routes: parse → service → reply.
#include "routes.hpp"

#include <platform/ids.hpp>
#include <platform/money.hpp>

namespace bazaar::cart {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::FieldReader;
using platform::Money;

namespace {

json::object cart_json(const CartView& v) {
  const auto& currency = v.cart.currency;
  json::array items;
  for (const auto& p : v.priced.lines) {
    items.push_back(json::object{{"id", p.line.id},
                                 {"variant_id", p.line.variant_id},
                                 {"product_id", p.line.product_id},
                                 {"sku", p.line.sku},
                                 {"title", p.line.title},
                                 {"quantity", p.line.quantity},
                                 {"unit_price", platform::money_json(Money{p.unit_price, currency})},
                                 {"line_total", platform::money_json(Money{p.line_total, currency})}});
  }
  json::array warnings;
  for (const auto& w : v.priced.warnings) {
    warnings.push_back(json::object{{"item_id", w.item_id}, {"code", w.code}, {"message", w.message}});
  }
  return {{"id", v.cart.id},
          {"status", v.cart.status},
          {"items", std::move(items)},
          {"subtotal", platform::money_json(Money{v.priced.subtotal, currency})},
          {"item_count", v.priced.item_count},
          {"warnings", std::move(warnings)},
          {"updated_at", v.cart.updated_at}};
}

Caller caller_of(const Request& rq) {
  if (!rq.principal) return std::nullopt;
  return rq.principal->user_id;
}

Reply reply_with(const Request& rq, const Result<CartView>& r, int status = 200) {
  if (!r) return http::problem(r.error(), rq);
  return http::json_reply(status, cart_json(*r));
}

asio::awaitable<Reply> create_cart(Request& rq, Service& svc) {
  // The body is optional ({} or empty); anything else must still be a JSON object.
  if (!rq.body.empty()) {
    auto body = http::parse_json_body(rq);
    if (!body) co_return http::problem(body.error(), rq);
  }
  auto created = co_await svc.create(caller_of(rq));
  if (!created) co_return http::problem(created.error(), rq);
  Reply reply = http::json_reply(created->second ? 201 : 200, cart_json(created->first));
  reply.headers.set("Location", "/api/v1/carts/" + created->first.cart.id);
  co_return reply;
}

asio::awaitable<Reply> get_cart(Request& rq, Service& svc) {
  co_return reply_with(rq, co_await svc.get(std::string(rq.param("id")), caller_of(rq)));
}

asio::awaitable<Reply> my_cart(Request& rq, Service& svc) {
  co_return reply_with(rq, co_await svc.mine(std::string(rq.user_id())));
}

asio::awaitable<Reply> add_item(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto variant = r.string("variant_id", true, 1, 64);
  auto quantity = r.integer("quantity", true, 1, 999);
  if (variant && !platform::is_uuid(*variant)) r.fail("variant_id", "must be a UUID");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return reply_with(rq, co_await svc.add_item(std::string(rq.param("id")), caller_of(rq),
                                                 *platform::normalize_uuid(*variant), static_cast<int>(*quantity)));
}

asio::awaitable<Reply> patch_item(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto quantity = r.integer("quantity", true, 0, 999);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return reply_with(rq, co_await svc.set_quantity(std::string(rq.param("id")), caller_of(rq),
                                                     std::string(rq.param("item_id")), static_cast<int>(*quantity)));
}

asio::awaitable<Reply> delete_item(Request& rq, Service& svc) {
  co_return reply_with(
      rq, co_await svc.remove_item(std::string(rq.param("id")), caller_of(rq), std::string(rq.param("item_id"))));
}

asio::awaitable<Reply> claim(Request& rq, Service& svc) {
  co_return reply_with(rq, co_await svc.claim(std::string(rq.param("id")), std::string(rq.user_id())));
}

}  // namespace

void register_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.post("/api/v1/carts", Access::public_route, bind(create_cart));
  r.get("/api/v1/carts/{id:uuid}", Access::public_route, bind(get_cart));
  r.post("/api/v1/carts/{id:uuid}/items", Access::public_route, bind(add_item));
  r.patch("/api/v1/carts/{id:uuid}/items/{item_id:uuid}", Access::public_route, bind(patch_item));
  r.del("/api/v1/carts/{id:uuid}/items/{item_id:uuid}", Access::public_route, bind(delete_item));
  r.post("/api/v1/carts/{id:uuid}/claim", Access::authenticated, bind(claim));
  r.get("/api/v1/me/cart", Access::authenticated, bind(my_cart));
}

}  // namespace bazaar::cart
