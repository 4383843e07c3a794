#include "support/shop.hpp"

#include <platform/platform.hpp>

#include <doctest/doctest.h>

namespace bazaar::testing {

namespace json = boost::json;

namespace {
constexpr const char* kPassword = "Shop-Test-Password-42";

Shopper register_shopper(TestApp& app, const std::string& tag) {
  const std::string email = "shop-" + tag + "-" + unique_suffix() + "@example.com";
  auto r = app.http().post_json("/api/v1/auth/register", json::object{{"email", email},
                                                                      {"password", kPassword},
                                                                      {"first_name", "Sam"},
                                                                      {"last_name", "Shopper"}});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  const std::string id = json::value_to<std::string>(r.json().at("id"));
  return {id, email, app.token_for(id, "customer")};
}
}  // namespace

Shopper new_customer(TestApp& app) { return register_shopper(app, "customer"); }

Shopper new_admin(TestApp& app) {
  Shopper s = register_shopper(app, "admin");
  app.platform().db().run_sync([&](soci::session& sql) {
    sql << "UPDATE accounts.users SET role = 'admin' WHERE id = CAST(:id AS uuid)", soci::use(s.id);
  });
  s.token = app.token_for(s.id, "admin");
  return s;
}

Stock new_product(TestApp& app, const Shopper& admin, std::int64_t price, int on_hand, const std::string& title) {
  const std::string suffix = unique_suffix();
  const std::string name = title.empty() ? "Test product " + suffix : title;
  auto p = app.http().post_json("/admin/v1/products",
                                json::object{{"title", name},
                                             {"slug", "test-product-" + suffix},
                                             {"description", "A product made by the test fixtures."},
                                             {"status", "published"}},
                                admin.token);
  REQUIRE_MESSAGE(p.status == 201, p.body);
  const std::string product_id = json::value_to<std::string>(p.json().at("id"));
  const std::string sku = "SKU-" + suffix;
  auto v = app.http().post_json("/admin/v1/products/" + product_id + "/variants",
                                json::object{{"sku", sku},
                                             {"title", "Default"},
                                             {"price", {{"amount", price}, {"currency", "EUR"}}},
                                             {"on_hand", on_hand}},
                                admin.token);
  REQUIRE_MESSAGE(v.status == 201, v.body);
  return {product_id, json::value_to<std::string>(v.json().at("id")), sku};
}

std::string new_cart(TestApp& app, const std::string& token, const std::vector<std::pair<std::string, int>>& lines) {
  auto c = app.http().post_json("/api/v1/carts", json::object{}, token);
  REQUIRE_MESSAGE((c.status == 201 || c.status == 200), c.body);
  const std::string cart_id = json::value_to<std::string>(c.json().at("id"));
  for (const auto& [variant, quantity] : lines) {
    auto r = app.http().post_json("/api/v1/carts/" + cart_id + "/items",
                                  json::object{{"variant_id", variant}, {"quantity", quantity}}, token);
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  return cart_id;
}

json::object checkout_body(const std::string& cart_id, const std::string& payment_token, const std::string& email) {
  json::object body{{"cart_id", cart_id},
                    {"shipping_address", {{"first_name", "Sam"},
                                          {"last_name", "Shopper"},
                                          {"line1", "Hauptstraße 1"},
                                          {"city", "Berlin"},
                                          {"postal_code", "10115"},
                                          {"country", "DE"}}},
                    {"shipping_option_id", "standard"},
                    {"payment", {{"method", "test_card"}, {"token", payment_token}}}};
  if (!email.empty()) body["email"] = email;
  return body;
}

HttpResponse place_order(TestApp& app, const json::object& body, const std::string& token,
                         const std::string& idempotency_key) {
  return app.http().post_json("/api/v1/orders", body, token, {{"Idempotency-Key", idempotency_key}});
}

StockLevel stock_level(TestApp& app, const std::string& variant_id) {
  StockLevel level;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT on_hand, reserved FROM catalog.variants WHERE id = CAST(:id AS uuid)", soci::use(variant_id),
        soci::into(level.on_hand), soci::into(level.reserved);
  });
  level.available = level.on_hand - level.reserved;
  return level;
}

void run_job(TestApp& app, const std::string& name) {
  for (const auto& job : app.platform().jobs().all()) {
    if (job.name == name) {
      app.platform().run_on_io(job.run);
      return;
    }
  }
  FAIL("no job named " << name);
}

}  // namespace bazaar::testing
