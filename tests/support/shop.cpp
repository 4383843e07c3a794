#include "support/shop.hpp"

#include <platform/platform.hpp>
#include <platform/security.hpp>

#include <chrono>

#include <doctest/doctest.h>

namespace bazaar::testing {

namespace json = boost::json;

namespace {
const std::string kPassword = "Shop-Test-Password-42";

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

const std::string& shopper_password() { return kPassword; }

Stock new_variant(TestApp& app, const Shopper& admin, const std::string& product_id, std::int64_t price, int on_hand) {
  const std::string sku = "SKU-" + unique_suffix();
  auto v = app.http().post_json("/admin/v1/products/" + product_id + "/variants",
                                json::object{{"sku", sku},
                                             {"title", "Variant " + sku},
                                             {"price", {{"amount", price}, {"currency", "EUR"}}},
                                             {"on_hand", on_hand}},
                                admin.token);
  REQUIRE_MESSAGE(v.status == 201, v.body);
  return {product_id, json::value_to<std::string>(v.json().at("id")), sku};
}

HttpResponse set_stock(TestApp& app, const Shopper& admin, const std::string& variant_id, int on_hand) {
  return app.http().send(HttpRequest{"PUT", "/admin/v1/variants/" + variant_id + "/stock",
                                     json::serialize(json::object{{"on_hand", on_hand}}),
                                     {{"Content-Type", "application/json"}}, admin.token});
}

void deliver_events_of(TestApp& app, const std::string& aggregate_id) {
  // Others' due events are moved far into the future for the drain, then back exactly as they were.
  std::vector<std::string> parked;
  app.platform().db().run_sync([&](soci::session& s) {
    soci::rowset<std::string> rows = (s.prepare << R"sql(
        UPDATE platform.outbox SET next_attempt_at = next_attempt_at + interval '1000 years'
        WHERE status = 'pending' AND aggregate_id <> :a AND next_attempt_at < now() + interval '500 years'
        RETURNING id::text)sql",
                                      soci::use(aggregate_id, "a"));
    for (const auto& id : rows) parked.push_back(id);
  });
  std::exception_ptr failure;
  try {
    app.platform().drain_events();
  } catch (...) {
    failure = std::current_exception();
  }
  std::string ids = "{";
  for (const auto& id : parked) ids += (ids.size() > 1 ? "," : "") + id;
  ids += "}";
  app.platform().db().run_sync([&](soci::session& s) {
    s << "UPDATE platform.outbox SET next_attempt_at = next_attempt_at - interval '1000 years' "
         "WHERE id = ANY(CAST(:ids AS uuid[]))",
        soci::use(ids, "ids");
  });
  if (failure) std::rethrow_exception(failure);
}

HttpResponse send_payment_webhook(TestApp& app, const std::string& body, std::int64_t unix_time,
                                  const std::string& secret) {
  if (unix_time == 0) {
    unix_time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
  }
  const std::string key = secret.empty() ? app.platform().config().required_string("payments.webhook_secret") : secret;
  const std::string signature =
      "t=" + std::to_string(unix_time) + ",v1=" +
      platform::security::hmac_sha256_hex(key, std::to_string(unix_time) + "." + body);
  return app.http().send(HttpRequest{"POST", "/api/v1/payments/webhook", body,
                                     {{"Content-Type", "application/json"}, {"Bazaar-Signature", signature}},
                                     ""});
}

}  // namespace bazaar::testing
