#pragma once
// Helpers for the accounts tests: fresh users over HTTP, tokens without a login where a login is not the
// point (Argon2id costs ~30 ms a hash), admins, and reading what the module published to the outbox.
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/platform.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::accounts_test {

namespace json = boost::json;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::TestApp;

inline constexpr const char* kPassword = "Tr0ub4dor&3-staple";

inline std::string fresh_email(const std::string& tag = "user") {
  return "acc-" + tag + "-" + testing::unique_suffix() + "@example.com";
}

inline json::object registration(const std::string& email, const std::string& password = kPassword,
                                 const std::string& first = "Ada", const std::string& last = "Lovelace") {
  return {{"email", email}, {"password", password}, {"first_name", first}, {"last_name", last}};
}

struct User {
  std::string id;
  std::string email;
  std::string password;
  std::string token;  // an access token for the user's current role, issued without a login
};

inline User register_user(TestApp& app, const std::string& email, const std::string& password = kPassword,
                          const std::string& first = "Ada", const std::string& last = "Lovelace") {
  auto r = app.http().post_json("/api/v1/auth/register", registration(email, password, first, last));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  const auto u = r.json().as_object();
  User user{json::value_to<std::string>(u.at("id")), json::value_to<std::string>(u.at("email")), password, {}};
  user.token = app.token_for(user.id, "customer");
  return user;
}

inline User new_user(TestApp& app, const std::string& tag = "user") { return register_user(app, fresh_email(tag)); }

inline void exec_sql(TestApp& app, const std::string& sql, const std::string& arg) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(arg); });
}

// A user whose role is admin in the database, with an admin token (the principal check compares the
// token's role claim with the database, so the role is changed before any token is used).
inline User new_admin(TestApp& app, const std::string& first = "Ada", const std::string& last = "Admin") {
  User u = register_user(app, fresh_email("admin"), kPassword, first, last);
  exec_sql(app, "UPDATE accounts.users SET role = 'admin' WHERE id = CAST(:id AS uuid)", u.id);
  u.token = app.token_for(u.id, "admin");
  return u;
}

struct Tokens {
  std::string access;
  std::string refresh;
};

inline HttpResponse login_raw(TestApp& app, const std::string& email, const std::string& password) {
  return app.http().post_json("/api/v1/auth/login", json::object{{"email", email}, {"password", password}});
}

inline Tokens login(TestApp& app, const std::string& email, const std::string& password = kPassword) {
  auto r = login_raw(app, email, password);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const auto t = r.json().as_object();
  return {json::value_to<std::string>(t.at("access_token")), json::value_to<std::string>(t.at("refresh_token"))};
}

inline HttpResponse refresh_raw(TestApp& app, const std::string& refresh_token) {
  return app.http().post_json("/api/v1/auth/refresh", json::object{{"refresh_token", refresh_token}});
}

// A request with a JSON body and any method (DELETE /api/v1/me takes one).
inline HttpResponse send_json(TestApp& app, const std::string& method, const std::string& target,
                              const json::value& body, const std::string& bearer = {}) {
  return app.http().send(
      HttpRequest{method, target, json::serialize(body), {{"Content-Type", "application/json"}}, bearer});
}

// A JSON string's text (for comparing with std::string); a marker for anything else.
inline std::string text(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : "<not a string>"; }

inline std::string code_of(const HttpResponse& r) {
  const auto doc = r.json();
  const auto* code = doc.as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : std::string();
}

// The fields named in a validation problem's `errors`.
inline std::vector<std::string> error_fields(const HttpResponse& r) {
  std::vector<std::string> out;
  const auto doc = r.json();
  if (const auto* errors = doc.as_object().if_contains("errors"); errors && errors->is_array()) {
    for (const auto& e : errors->as_array()) out.emplace_back(e.as_object().at("field").as_string());
  }
  return out;
}

inline bool has_error_field(const HttpResponse& r, const std::string& field) {
  for (const auto& f : error_fields(r)) {
    if (f == field) return true;
  }
  return false;
}

struct OutboxEvent {
  std::string type;
  int version = 0;
  json::object payload;
};

// What the module published for an aggregate (a user id), oldest first.
inline std::vector<OutboxEvent> outbox_events(TestApp& app, const std::string& aggregate_id) {
  std::vector<OutboxEvent> out;
  app.platform().db().run_sync([&](soci::session& s) {
    soci::rowset<soci::row> rows =
        (s.prepare << "SELECT type, version, payload::text FROM platform.outbox WHERE aggregate_id = :a "
                      "ORDER BY occurred_at, id",
         soci::use(aggregate_id, "a"));
    for (const auto& row : rows) {
      out.push_back({row.get<std::string>(0), row.get<int>(1), json::parse(row.get<std::string>(2)).as_object()});
    }
  });
  return out;
}

inline std::vector<OutboxEvent> events_of_type(TestApp& app, const std::string& aggregate_id, const std::string& type) {
  std::vector<OutboxEvent> out;
  for (auto& e : outbox_events(app, aggregate_id)) {
    if (e.type == type) out.push_back(std::move(e));
  }
  return out;
}

// The newest one-time token the module published in an event of `type` for the user.
inline std::string token_from_outbox(TestApp& app, const std::string& user_id, const std::string& type) {
  auto events = events_of_type(app, user_id, type);
  REQUIRE_MESSAGE(!events.empty(), "no " << type << " event for " << user_id);
  return json::value_to<std::string>(events.back().payload.at("token"));
}

inline long long count_sql(TestApp& app, const std::string& sql, const std::string& arg) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(arg), soci::into(n); });
  return n;
}

inline json::object me(TestApp& app, const std::string& token) {
  auto r = app.http().get("/api/v1/me", token);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().as_object();
}

}  // namespace bazaar::accounts_test
