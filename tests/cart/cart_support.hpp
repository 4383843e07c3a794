#pragma once
// Helpers for the cart tests: the cart routes over HTTP and small readers of Cart documents. Every test
// makes its own users, products and carts (unique SKUs and emails), because all tests share one database.
#include "support/shop.hpp"

#include <platform/db.hpp>
#include <platform/platform.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace bazaar::cart_test {

namespace json = boost::json;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::Shopper;
using testing::Stock;
using testing::TestApp;

inline std::string str(const json::value& v) { return json::value_to<std::string>(v); }
inline std::int64_t num(const json::value& v) { return v.to_number<std::int64_t>(); }

inline HttpResponse create_cart(TestApp& app, const std::string& token = {},
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  return app.http().post_json("/api/v1/carts", json::object{}, token, std::move(headers));
}

inline HttpResponse add_item(TestApp& app, const std::string& cart_id, const std::string& variant_id, int quantity,
                             const std::string& token = {}) {
  return app.http().post_json("/api/v1/carts/" + cart_id + "/items",
                              json::object{{"variant_id", variant_id}, {"quantity", quantity}}, token);
}

inline HttpResponse set_quantity(TestApp& app, const std::string& cart_id, const std::string& item_id, int quantity,
                                 const std::string& token = {}) {
  return app.http().patch_json("/api/v1/carts/" + cart_id + "/items/" + item_id, json::object{{"quantity", quantity}},
                               token);
}

inline HttpResponse remove_item(TestApp& app, const std::string& cart_id, const std::string& item_id,
                                const std::string& token = {}) {
  return app.http().del("/api/v1/carts/" + cart_id + "/items/" + item_id, token);
}

inline HttpResponse claim(TestApp& app, const std::string& cart_id, const std::string& token) {
  return app.http().post_json("/api/v1/carts/" + cart_id + "/claim", json::object{}, token);
}

inline HttpResponse get_cart(TestApp& app, const std::string& cart_id, const std::string& token = {}) {
  return app.http().get("/api/v1/carts/" + cart_id, token);
}

// The line of `variant_id` in a Cart document, or nullptr.
inline const json::object* line_of(const json::value& cart, const std::string& variant_id) {
  for (const auto& item : cart.at("items").as_array()) {
    if (item.at("variant_id") == json::value(variant_id)) return &item.as_object();
  }
  return nullptr;
}

inline int quantity_of(const json::value& cart, const std::string& variant_id) {
  const auto* line = line_of(cart, variant_id);
  return line ? static_cast<int>(num(line->at("quantity"))) : 0;
}

// The warning codes of a Cart document for one item (or for all items when item_id is empty).
inline std::vector<std::string> warning_codes(const json::value& cart, const std::string& item_id = {}) {
  std::vector<std::string> codes;
  for (const auto& w : cart.at("warnings").as_array()) {
    if (item_id.empty() || w.at("item_id") == json::value(item_id)) codes.push_back(str(w.at("code")));
  }
  return codes;
}

// The problem code of an error response (and a check that it is a problem document).
inline std::string problem_code(const HttpResponse& r) {
  CHECK(r.header("Content-Type").value_or("").rfind("application/problem+json", 0) == 0);
  const auto doc = r.json();
  CHECK(doc.at("status") == r.status);
  return str(doc.at("code"));
}

inline long long count_rows(TestApp& app, const std::string& sql, const std::string& param) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(param), soci::into(n); });
  return n;
}

inline void exec_sql(TestApp& app, const std::string& sql, const std::string& param) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(param); });
}

}  // namespace bazaar::cart_test
