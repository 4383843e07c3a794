#pragma once
// Helpers for the catalog tests: an admin to drive the admin API, products/variants/categories made over
// HTTP, the module's facades, and direct looks at what the module stored or published. Every test uses
// fresh slugs, SKUs and search words (unique_suffix), because all tests share one database.
#include "accounts/accounts_support.hpp"
#include "domain/slug.hpp"
#include "support/async.hpp"
#include "support/test_env.hpp"

#include <catalog/module.hpp>
#include <platform/db.hpp>
#include <platform/platform.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bazaar::catalog_test {

namespace json = boost::json;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::TestApp;

inline std::string str(const json::value& v) { return std::string(v.as_string()); }

// The slug the catalog derives from a title.
inline std::string domain_slug(const std::string& title) { return catalog::domain::slugify(title, "product"); }

// A user whose database role is admin, with an admin access token.
inline std::string admin_token(TestApp& app) { return accounts_test::new_admin(app).token; }

inline HttpResponse send_json(TestApp& app, const std::string& method, const std::string& target,
                              const json::value& body, const std::string& token) {
  return app.http().send(
      HttpRequest{method, target, json::serialize(body), {{"Content-Type", "application/json"}}, token});
}

inline json::object create_product(TestApp& app, const std::string& token, json::object body) {
  if (!body.contains("description")) body["description"] = "";
  auto r = send_json(app, "POST", "/admin/v1/products", body, token);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json().as_object();
}

inline json::object publish(TestApp& app, const std::string& token, const std::string& product_id) {
  auto r = send_json(app, "PATCH", "/admin/v1/products/" + product_id, json::object{{"status", "published"}}, token);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().as_object();
}

inline json::object money(std::int64_t amount, const std::string& currency = "EUR") {
  return {{"amount", amount}, {"currency", currency}};
}

inline json::object add_variant(TestApp& app, const std::string& token, const std::string& product_id,
                                const std::string& sku, std::int64_t price, int on_hand,
                                json::object options = {}) {
  json::object body{{"sku", sku}, {"title", "Variant " + sku}, {"price", money(price)}, {"on_hand", on_hand}};
  if (!options.empty()) body["options"] = std::move(options);
  auto r = send_json(app, "POST", "/admin/v1/products/" + product_id + "/variants", body, token);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json().as_object();
}

inline json::object create_category(TestApp& app, const std::string& token, const std::string& name,
                                    std::optional<std::string> parent_id = std::nullopt) {
  json::object body{{"name", name}};
  if (parent_id) body["parent_id"] = *parent_id;
  auto r = send_json(app, "POST", "/admin/v1/categories", body, token);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json().as_object();
}

// A published product with one variant per price (stock `on_hand` each), in `category_id` if given.
inline json::object published_product(TestApp& app, const std::string& token, const std::string& title,
                                      const std::vector<std::int64_t>& prices, int on_hand = 10,
                                      std::optional<std::string> category_id = std::nullopt,
                                      const std::string& description = "") {
  json::object body{{"title", title}, {"description", description}, {"status", "published"}};
  if (category_id) body["category_ids"] = json::array{json::value(*category_id)};
  auto product = create_product(app, token, body);
  const auto id = str(product.at("id"));
  int k = 0;
  for (auto price : prices) add_variant(app, token, id, "SKU-" + testing::unique_suffix() + "-" + std::to_string(k++), price, on_hand);
  auto r = app.http().get("/admin/v1/products/" + id, token);
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

inline std::string code_of(const HttpResponse& r) { return accounts_test::code_of(r); }
inline bool has_error_field(const HttpResponse& r, const std::string& field) {
  return accounts_test::has_error_field(r, field);
}

inline catalog::CatalogModule& catalog_module(TestApp& app) {
  for (auto& m : app.application().modules) {
    if (m->name() == "catalog") return dynamic_cast<catalog::CatalogModule&>(*m);
  }
  FAIL("the catalog module is not composed");
  throw std::logic_error("unreachable");
}

inline long long scalar(TestApp& app, const std::string& sql, const std::string& arg) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(arg), soci::into(n); });
  return n;
}

inline long long count_of(TestApp& app, const std::string& sql) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::into(n); });
  return n;
}

inline void exec(TestApp& app, const std::string& sql, const std::string& arg) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(arg); });
}

inline std::vector<std::string> event_types(TestApp& app, const std::string& aggregate_id) {
  std::vector<std::string> out;
  for (const auto& e : accounts_test::outbox_events(app, aggregate_id)) out.push_back(e.type);
  return out;
}

inline bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Ids of a page's items, in order.
inline std::vector<std::string> ids_of(const json::value& page) {
  std::vector<std::string> out;
  for (const auto& item : page.at("items").as_array()) out.push_back(str(item.at("id")));
  return out;
}

}  // namespace bazaar::catalog_test
