// Abuse limits against the real PostgreSQL: per-IP and per-email rate limits on login, registration and
// password reset (429 + Retry-After). Each test has its own application, so its in-process limiter
// starts empty; the global per-IP limit is set high so that only the accounts limits are in play.
#include "accounts/accounts_support.hpp"

#include <string>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

platform::Config limited_config(const std::string& key, std::int64_t limit) {
  platform::Config c = testing::test_config();
  c.set("rate_limit.enabled", true);
  c.set("rate_limit.per_ip_per_minute", 1'000'000);
  c.set(key, limit);
  return c;
}

void expect_limited(const HttpResponse& r) {
  CHECK_MESSAGE(r.status == 429, r.body);
  CHECK(r.header("Content-Type") == "application/problem+json");
  const auto retry = r.header("Retry-After");
  REQUIRE(retry.has_value());
  const long seconds = std::stol(*retry);
  CHECK(seconds >= 1);
  CHECK(seconds <= 3600);
}

HttpResponse login_from(TestApp& app, const std::string& ip, const std::string& email) {
  return app.http().post_json("/api/v1/auth/login", json::object{{"email", email}, {"password", "Wrong-Passw0rd!"}},
                              {}, {{"X-Forwarded-For", ip}});
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: logins per IP are limited with 429 and Retry-After") {
    TestApp app(limited_config("accounts.login_per_ip_per_minute", 3));
    for (int i = 0; i < 3; ++i) CHECK(login_raw(app, fresh_email("ip-limit"), "Wrong-Passw0rd!").status == 401);
    auto limited = login_raw(app, fresh_email("ip-limit"), "Wrong-Passw0rd!");
    expect_limited(limited);
    CHECK(std::stol(limited.header("Retry-After").value_or("0")) <= 60);
    // Being limited does not depend on the password being wrong.
    User u = new_user(app, "ip-limit-real");
    expect_limited(login_raw(app, u.email, kPassword));
  }

  TEST_CASE("accounts: logins per email are limited, whatever the spelling and wherever they come from") {
    auto config = limited_config("accounts.login_per_email_per_15min", 2);
    config.set("http.trust_forwarded_for", true);
    TestApp app(config);
    const std::string email = fresh_email("email-limit");
    CHECK(login_from(app, "198.51.100.1", email).status == 401);
    CHECK(login_from(app, "198.51.100.2", " " + email).status == 401);
    expect_limited(login_from(app, "198.51.100.3", email));
    // Another email is not affected.
    CHECK(login_from(app, "198.51.100.3", fresh_email("email-limit-other")).status == 401);
  }

  TEST_CASE("accounts: the login IP limit counts each client address separately") {
    auto config = limited_config("accounts.login_per_ip_per_minute", 2);
    config.set("http.trust_forwarded_for", true);
    TestApp app(config);
    CHECK(login_from(app, "203.0.113.7", fresh_email("a")).status == 401);
    CHECK(login_from(app, "203.0.113.7", fresh_email("a")).status == 401);
    expect_limited(login_from(app, "203.0.113.7", fresh_email("a")));
    CHECK(login_from(app, "203.0.113.8", fresh_email("b")).status == 401);
  }

  TEST_CASE("accounts: registrations per IP are limited") {
    TestApp app(limited_config("accounts.register_per_ip_per_hour", 2));
    // Invalid requests do not use up the allowance.
    CHECK(app.http().post_json("/api/v1/auth/register", registration("not-an-email")).status == 422);
    CHECK(app.http().post_json("/api/v1/auth/register", registration(fresh_email("reg-limit"))).status == 201);
    CHECK(app.http().post_json("/api/v1/auth/register", registration(fresh_email("reg-limit"))).status == 201);
    const std::string email = fresh_email("reg-limit");
    expect_limited(app.http().post_json("/api/v1/auth/register", registration(email)));
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", email) == 0);
  }

  TEST_CASE("accounts: password reset requests per IP are limited") {
    TestApp app(limited_config("accounts.password_reset_per_ip_per_hour", 2));
    for (int i = 0; i < 2; ++i) {
      CHECK(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", fresh_email("rst")}}).status ==
            202);
    }
    expect_limited(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", fresh_email("rst")}}));
  }

  TEST_CASE("accounts: password reset mails per email are limited silently (still 202, no new event)") {
    TestApp app(limited_config("accounts.password_reset_per_email_per_hour", 1));
    User u = new_user(app, "rst-email");
    auto first = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}});
    auto second = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}});
    CHECK(first.status == 202);
    CHECK(second.status == 202);
    CHECK(first.body == second.body);
    CHECK(events_of_type(app, u.id, "accounts.password_reset_requested").size() == 1);
  }

  TEST_CASE("accounts: with rate limits switched off nothing is limited") {
    TestApp app;  // the test configuration has rate_limit.enabled = false
    // More than the default per-IP allowance of password reset requests (20 an hour).
    for (int i = 0; i < 25; ++i) {
      CHECK(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", fresh_email("unlimited")}})
                .status == 202);
    }
  }
}
