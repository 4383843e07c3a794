// Admin catalog routes: products, variants, stock, images, categories, low stock. Every write is audited
// by the service. No SQL here.
#include "domain/image.hpp"
#include "routes.hpp"

#include <platform/ids.hpp>

#include <algorithm>
#include <charconv>

namespace bazaar::catalog {

namespace http = platform::http;
using http::Access;
using http::Reply;
using http::Request;
using platform::Errc;
using platform::Error;
using platform::FieldReader;

namespace {

std::string id_param(const Request& rq, std::string_view name) {
  // The router only lets UUIDs through ({x:uuid}); stored ids are lower-case.
  return platform::normalize_uuid(rq.param(name)).value_or(std::string(rq.param(name)));
}

domain::ParamLookup query_of(const Request& rq) {
  return [&rq](std::string_view name) { return rq.query_param(name); };
}

template <class T>
Reply json_or_problem(const platform::Result<T>& result, int status, const Request& rq) {
  if (!result) return http::problem(result.error(), rq);
  return http::raw_json_reply(status, *result);
}

Reply empty_or_problem(const platform::Result<void>& result, const Request& rq) {
  if (!result) return http::problem(result.error(), rq);
  return http::no_content();
}

// ------------------------------------------------------------------------------------------------ products

asio::awaitable<Reply> list_products(Request& rq, Service& svc) {
  auto query = domain::parse_admin_list_query(query_of(rq));
  if (!query) co_return http::problem(query.error(), rq);
  co_return http::raw_json_reply(200, co_await svc.admin_products(std::move(*query)));
}

asio::awaitable<Reply> create_product(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  ProductInput in;
  read_product(r, false, in);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.create_product(rq, std::move(in)), 201, rq);
}

asio::awaitable<Reply> get_product(Request& rq, Service& svc) {
  co_return json_or_problem(co_await svc.admin_product(id_param(rq, "id")), 200, rq);
}

asio::awaitable<Reply> patch_product(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  ProductInput patch;
  read_product(r, true, patch);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.update_product(rq, id_param(rq, "id"), std::move(patch)), 200, rq);
}

asio::awaitable<Reply> delete_product(Request& rq, Service& svc) {
  co_return empty_or_problem(co_await svc.archive_product(rq, id_param(rq, "id")), rq);
}

// ------------------------------------------------------------------------------------------ variants, stock

asio::awaitable<Reply> create_variant(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  VariantInput in;
  read_variant(r, false, svc.settings().store_currency, in);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.create_variant(rq, id_param(rq, "id"), std::move(in)), 201, rq);
}

asio::awaitable<Reply> patch_variant(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  VariantInput patch;
  read_variant(r, true, svc.settings().store_currency, patch);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(
      co_await svc.update_variant(rq, id_param(rq, "id"), id_param(rq, "variant_id"), std::move(patch)), 200, rq);
}

asio::awaitable<Reply> delete_variant(Request& rq, Service& svc) {
  co_return empty_or_problem(co_await svc.delete_variant(rq, id_param(rq, "id"), id_param(rq, "variant_id")), rq);
}

asio::awaitable<Reply> put_stock(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto on_hand = r.integer("on_hand", true, 0, kMaxStock);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.set_stock(rq, id_param(rq, "variant_id"), static_cast<int>(*on_hand)), 200,
                            rq);
}

asio::awaitable<Reply> low_stock(Request& rq, Service& svc) {
  auto query = domain::parse_low_stock_query(query_of(rq), svc.settings().low_stock_threshold);
  if (!query) co_return http::problem(query.error(), rq);
  co_return http::raw_json_reply(200, co_await svc.low_stock(std::move(*query)));
}

// --------------------------------------------------------------------------------------------------- images

// The raw body is the image. The declared type must be one we accept (else 415 unsupported_media_type) and
// the bytes must really be of that type (else 415 image_type_mismatch): a text file labelled image/png is
// refused. ?alt= and ?position= describe the image.
asio::awaitable<Reply> upload_image(Request& rq, Service& svc) {
  const auto declared = domain::image_type_from_content_type(rq.header("Content-Type").value_or(""));
  if (!declared) {
    co_return http::problem(Error::make(Errc::unsupported_media_type, "unsupported_media_type",
                                        "Upload the image as the raw body with Content-Type image/png, image/jpeg "
                                        "or image/webp."),
                            rq);
  }
  if (rq.body.size() > kMaxImageBytes) {
    co_return http::problem(
        Error::make(Errc::payload_too_large, "payload_too_large", "Images are limited to 10 MiB."), rq);
  }
  if (domain::sniff_image_type(rq.body) != declared) {
    co_return http::problem(Error::make(Errc::unsupported_media_type, "image_type_mismatch",
                                        "The body is not a " + std::string(domain::content_type(*declared)) +
                                            " image."),
                            rq);
  }
  std::vector<platform::FieldError> errors;
  std::string alt = rq.query_param("alt").value_or("");
  if (platform::utf8_length(alt) > 300 || !platform::valid_utf8(alt)) {
    errors.push_back({"alt", "must be valid text of at most 300 characters"});
  } else if (std::any_of(alt.begin(), alt.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    errors.push_back({"alt", "must not contain control characters"});
  }
  std::optional<int> position;
  if (auto p = rq.query_param("position"); p && !p->empty()) {
    int v = 0;
    const auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), v);
    if (ec != std::errc() || end != p->data() + p->size() || v < 0 || v > 10000) {
      errors.push_back({"position", "must be an integer between 0 and 10000"});
    } else {
      position = v;
    }
  }
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  co_return json_or_problem(co_await svc.add_image(rq, id_param(rq, "id"), *declared, std::move(alt), position), 201,
                            rq);
}

asio::awaitable<Reply> delete_image(Request& rq, Service& svc) {
  co_return empty_or_problem(co_await svc.delete_image(rq, id_param(rq, "id"), id_param(rq, "image_id")), rq);
}

// ----------------------------------------------------------------------------------------------- categories

asio::awaitable<Reply> create_category(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  CategoryInput in;
  read_category(r, false, in);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.create_category(rq, std::move(in)), 201, rq);
}

asio::awaitable<Reply> patch_category(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  CategoryInput patch;
  read_category(r, true, patch);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  co_return json_or_problem(co_await svc.update_category(rq, id_param(rq, "id"), std::move(patch)), 200, rq);
}

asio::awaitable<Reply> delete_category(Request& rq, Service& svc) {
  co_return empty_or_problem(co_await svc.delete_category(rq, id_param(rq, "id")), rq);
}

}  // namespace

void register_admin_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/admin/v1/products", Access::admin, bind(list_products));
  r.post("/admin/v1/products", Access::admin, bind(create_product));
  r.get("/admin/v1/products/{id:uuid}", Access::admin, bind(get_product));
  r.patch("/admin/v1/products/{id:uuid}", Access::admin, bind(patch_product));
  r.del("/admin/v1/products/{id:uuid}", Access::admin, bind(delete_product));
  r.post("/admin/v1/products/{id:uuid}/variants", Access::admin, bind(create_variant));
  r.patch("/admin/v1/products/{id:uuid}/variants/{variant_id:uuid}", Access::admin, bind(patch_variant));
  r.del("/admin/v1/products/{id:uuid}/variants/{variant_id:uuid}", Access::admin, bind(delete_variant));
  r.put("/admin/v1/variants/{variant_id:uuid}/stock", Access::admin, bind(put_stock));
  r.post("/admin/v1/products/{id:uuid}/images", Access::admin, bind(upload_image));
  r.del("/admin/v1/products/{id:uuid}/images/{image_id:uuid}", Access::admin, bind(delete_image));
  r.post("/admin/v1/categories", Access::admin, bind(create_category));
  r.patch("/admin/v1/categories/{id:uuid}", Access::admin, bind(patch_category));
  r.del("/admin/v1/categories/{id:uuid}", Access::admin, bind(delete_category));
  r.get("/admin/v1/inventory/low-stock", Access::admin, bind(low_stock));
}

}  // namespace bazaar::catalog
