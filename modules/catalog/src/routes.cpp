// Customer-facing catalog routes and media: parse → service → reply. No SQL here. Product and list bodies
// come ready-made (often straight from the response cache) and are sent without a copy.
#include "routes.hpp"

#include <platform/ids.hpp>

namespace bazaar::catalog {

namespace http = platform::http;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;

namespace {

Reply body_reply(Service::Body body) {
  Reply r;
  r.status = 200;
  r.headers.set("Content-Type", "application/json");
  r.shared_body = std::move(body);
  return r;
}

domain::ParamLookup query_of(const Request& rq) {
  return [&rq](std::string_view name) { return rq.query_param(name); };
}

asio::awaitable<Reply> list_products(Request& rq, Service& svc) {
  auto query = domain::parse_list_query(query_of(rq));
  if (!query) co_return http::problem(query.error(), rq);
  co_return body_reply(co_await svc.products(std::move(*query)));
}

asio::awaitable<Reply> get_product(Request& rq, Service& svc) {
  auto body = co_await svc.product(std::string(rq.param("ref")));
  if (!body) co_return http::problem(Error::not_found("The product does not exist."), rq);
  co_return body_reply(std::move(body));
}

asio::awaitable<Reply> list_categories(Request& rq, Service& svc) {
  (void)rq;
  co_return body_reply(co_await svc.categories());
}

// If-None-Match: "*" or a list of entity tags; weak comparison (RFC 9110 §13.1.2).
bool etag_matches(std::string_view header, std::string_view etag) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    auto tag = header.substr(pos, end - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    pos = end + 1;
  }
  return false;
}

asio::awaitable<Reply> get_media(Request& rq, Service& svc) {
  auto file = co_await svc.media(std::string(rq.param("key")));
  if (!file) co_return http::problem(Error::not_found("There is no such image."), rq);
  Reply r;
  r.headers.set("ETag", file->etag);
  // Keys are never reused for other bytes: the content under a key can be cached forever.
  r.headers.set("Cache-Control", "public, max-age=31536000, immutable");
  if (auto inm = rq.header("If-None-Match"); inm && etag_matches(*inm, file->etag)) {
    r.status = 304;
    co_return r;
  }
  r.status = 200;
  r.headers.set("Content-Type", file->content_type);
  r.body = std::move(file->bytes);
  co_return r;
}

}  // namespace

void register_customer_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/api/v1/products", Access::public_route, bind(list_products));
  r.get("/api/v1/products/{ref}", Access::public_route, bind(get_product));
  r.get("/api/v1/categories", Access::public_route, bind(list_categories));
  r.get("/media/{key}", Access::public_route, bind(get_media));
}

}  // namespace bazaar::catalog
