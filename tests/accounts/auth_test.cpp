// Registration and login over HTTP against the real PostgreSQL: the User shape, email normalisation and
// uniqueness (also under concurrency), field validation, the events in the outbox, and login that says
// the same thing in about the same time whether or not the email exists.
#include "accounts/accounts_support.hpp"

#include <platform/ids.hpp>
#include <platform/security.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <thread>
#include <vector>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

std::string repeat(std::string_view piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

bool is_rfc3339_utc(const std::string& s) {
  // 2026-11-21T10:00:00.123Z
  return s.size() == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
         s[19] == '.' && s[23] == 'Z';
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: registration answers 201 with the User shape and never a password hash") {
    TestApp app;
    const std::string email = fresh_email("shape");
    auto body = registration(email);
    body["phone"] = "+49 30 1234567";
    auto r = app.http().post_json("/api/v1/auth/register", body);
    REQUIRE(r.status == 201);
    CHECK(r.header("Content-Type") == "application/json");
    const auto u = r.json().as_object();
    CHECK(u.size() == 9);
    for (const char* key : {"id", "email", "first_name", "last_name", "phone", "role", "status", "email_verified",
                            "created_at"}) {
      CHECK_MESSAGE(u.contains(key), key);
    }
    CHECK(platform::is_uuid(std::string(u.at("id").as_string())));
    CHECK(text(u.at("email")) == email);
    CHECK(u.at("first_name") == "Ada");
    CHECK(u.at("last_name") == "Lovelace");
    CHECK(u.at("phone") == "+49 30 1234567");
    CHECK(u.at("role") == "customer");
    CHECK(u.at("status") == "active");
    CHECK(u.at("email_verified") == false);
    CHECK(is_rfc3339_utc(std::string(u.at("created_at").as_string())));
    CHECK(r.body.find("password") == std::string::npos);
    CHECK(r.body.find("argon2") == std::string::npos);
    CHECK(r.body.find(kPassword) == std::string::npos);

    // Without a phone the field is there, as null.
    auto r2 = app.http().post_json("/api/v1/auth/register", registration(fresh_email("nophone")));
    REQUIRE(r2.status == 201);
    CHECK(r2.json().at("phone").is_null());

    // The hash at rest is an Argon2id PHC string, not the password.
    std::string stored;
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT password_hash FROM accounts.users WHERE email = :e", soci::use(email), soci::into(stored);
    });
    CHECK(stored.rfind("$argon2id$", 0) == 0);
    CHECK(stored.find(kPassword) == std::string::npos);
  }

  TEST_CASE("accounts: the email is stored trimmed and lower-cased, and a differently written duplicate is a 409") {
    TestApp app;
    const std::string email = fresh_email("norm");
    std::string shouted = email;
    std::transform(shouted.begin(), shouted.end(), shouted.begin(), [](unsigned char c) { return std::toupper(c); });
    auto r = app.http().post_json("/api/v1/auth/register", registration("  " + shouted + "\t "));
    REQUIRE(r.status == 201);
    CHECK(text(r.json().at("email")) == email);

    for (const auto& variant : {email, shouted, " " + email + " ", "\n" + shouted}) {
      auto dup = app.http().post_json("/api/v1/auth/register", registration(variant));
      CHECK(dup.status == 409);
      CHECK(dup.header("Content-Type") == "application/problem+json");
      CHECK(code_of(dup) == "email_taken");
    }
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", email) == 1);
  }

  TEST_CASE("accounts: concurrent registrations of one email give exactly one 201 and 409 for the rest") {
    TestApp app;
    const std::string email = fresh_email("race");
    constexpr int kThreads = 10;
    std::vector<int> statuses(kThreads, 0);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        // Different spellings of the same address race as well.
        const std::string variant = i % 2 ? email : "  " + email;
        statuses[static_cast<std::size_t>(i)] =
            app.http().post_json("/api/v1/auth/register", registration(variant)).status;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(std::count(statuses.begin(), statuses.end(), 201) == 1);
    CHECK(std::count(statuses.begin(), statuses.end(), 409) == kThreads - 1);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", email) == 1);
  }

  TEST_CASE("accounts: registration validates every field with a 422 naming it") {
    TestApp app;
    auto post = [&](const json::object& body) { return app.http().post_json("/api/v1/auth/register", body); };
    auto expect_field = [&](json::object body, const std::string& field) {
      auto r = post(body);
      CHECK_MESSAGE(r.status == 422, field << ": " << r.body);
      CHECK(code_of(r) == "validation_failed");
      CHECK_MESSAGE(has_error_field(r, field), field << ": " << r.body);
    };
    for (const char* bad : {"not-an-email", "a@b", "two@@example.com", "sp ace@example.com", "@example.com", ""}) {
      expect_field(registration(bad), "email");
    }
    expect_field(registration(fresh_email(), "Sh0rt!x"), "password");                // 7 characters
    expect_field(registration(fresh_email(), repeat("Ab1-", 32) + "x"), "password");  // 129 characters
    expect_field(registration(fresh_email(), "password123"), "password");             // common
    expect_field(registration(fresh_email(), "Password"), "password");                // common, any case
    expect_field(registration(fresh_email(), repeat("é", 7)), "password");            // 14 bytes, 7 characters

    auto no_first = registration(fresh_email());
    no_first.erase("first_name");
    expect_field(no_first, "first_name");
    auto empty_last = registration(fresh_email());
    empty_last["last_name"] = "";
    expect_field(empty_last, "last_name");
    auto long_first = registration(fresh_email());
    long_first["first_name"] = repeat("x", 101);
    expect_field(long_first, "first_name");
    auto bad_phone = registration(fresh_email());
    bad_phone["phone"] = "call me maybe";
    expect_field(bad_phone, "phone");
    auto number_email = registration(fresh_email());
    number_email["email"] = 42;
    expect_field(number_email, "email");

    // Several bad fields at once are all reported.
    auto r = post(json::object{{"email", "nope"}, {"password", "short"}});
    CHECK(r.status == 422);
    CHECK(has_error_field(r, "email"));
    CHECK(has_error_field(r, "password"));
    CHECK(has_error_field(r, "first_name"));
    CHECK(has_error_field(r, "last_name"));

    // Password length is counted in code points: 8 two-byte characters are enough.
    auto ok = post(registration(fresh_email("utf8"), repeat("é", 8)));
    CHECK_MESSAGE(ok.status == 201, ok.body);
    // 128 characters (three bytes each) are still allowed.
    auto long_ok = post(registration(fresh_email("utf8long"), repeat("€", 127) + "x"));
    CHECK_MESSAGE(long_ok.status == 201, long_ok.body);
  }

  TEST_CASE("accounts: malformed registration bodies are 400 and a wrong media type 415") {
    TestApp app;
    auto bad_json = app.http().send(HttpRequest{"POST", "/api/v1/auth/register", "{\"email\": ",
                                                {{"Content-Type", "application/json"}}, {}});
    CHECK(bad_json.status == 400);
    CHECK(code_of(bad_json) == "bad_request");
    auto array = app.http().send(
        HttpRequest{"POST", "/api/v1/auth/register", "[1,2]", {{"Content-Type", "application/json"}}, {}});
    CHECK(array.status == 400);
    auto text = app.http().send(
        HttpRequest{"POST", "/api/v1/auth/register", "email=a@b.c", {{"Content-Type", "text/plain"}}, {}});
    CHECK(text.status == 415);
    auto wrong_method = app.http().get("/api/v1/auth/register");
    CHECK(wrong_method.status == 405);
  }

  TEST_CASE("accounts: registration publishes user_registered and email_verification_requested") {
    TestApp app;
    const std::string email = fresh_email("events");
    User u = register_user(app, email, kPassword, "Grace", "Hopper");
    auto events = outbox_events(app, u.id);
    REQUIRE(events.size() == 2);

    const auto& registered = events[0];
    CHECK(registered.type == "accounts.user_registered");
    CHECK(registered.version == 1);
    CHECK(registered.payload == json::object{{"user_id", u.id}, {"email", email}, {"first_name", "Grace"},
                                             {"last_name", "Hopper"}});

    const auto& verify = events[1];
    CHECK(verify.type == "accounts.email_verification_requested");
    CHECK(verify.version == 1);
    CHECK(text(verify.payload.at("user_id")) == u.id);
    CHECK(text(verify.payload.at("email")) == email);
    CHECK(verify.payload.at("first_name") == "Grace");
    const std::string token(verify.payload.at("token").as_string());
    CHECK(token.size() >= 43);  // 256 bits, base64url
    CHECK(is_rfc3339_utc(std::string(verify.payload.at("expires_at").as_string())));
    // Only the hash of the one-time token is stored.
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.one_time_tokens WHERE token_hash = :h",
                    platform::security::sha256_hex(token)) == 1);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.one_time_tokens WHERE token_hash = :h", token) == 0);

    // A refused duplicate publishes nothing.
    auto dup = app.http().post_json("/api/v1/auth/register", registration(email));
    CHECK(dup.status == 409);
    CHECK(count_sql(app, "SELECT count(*) FROM platform.outbox WHERE payload->>'email' = :e", email) == 2);
  }

  TEST_CASE("accounts: login answers 200 with Bearer tokens whose access token verifies with sub and role") {
    TestApp app;
    User u = new_user(app, "login");
    auto r = login_raw(app, "  " + u.email + " ", kPassword);  // the login email is normalised too
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "application/json");
    const auto t = r.json().as_object();
    CHECK(t.size() == 4);
    CHECK(t.at("token_type") == "Bearer");
    CHECK(t.at("expires_in") == 900);
    const std::string access(t.at("access_token").as_string());
    const std::string refresh(t.at("refresh_token").as_string());
    CHECK(refresh.size() >= 43);
    CHECK(access != refresh);

    auto claims = app.platform().jwt().verify(access);
    REQUIRE(claims.has_value());
    CHECK(claims->sub == u.id);
    CHECK(claims->role == "customer");
    CHECK(claims->exp - claims->iat == 900);
    CHECK(!claims->jti.empty());

    // The header names the algorithm and the key.
    auto header = platform::security::base64url_decode(access.substr(0, access.find('.')));
    REQUIRE(header.has_value());
    auto h = json::parse(*header).as_object();
    CHECK(h.at("alg") == "EdDSA");
    CHECK(text(h.at("kid")) == app.platform().jwt().keys().signing_kid());

    // The token opens the protected routes; the refresh token is stored only as a hash.
    CHECK(text(me(app, access).at("id")) == u.id);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.refresh_tokens WHERE token_hash = :h",
                    platform::security::sha256_hex(refresh)) == 1);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.refresh_tokens WHERE token_hash = :h", refresh) == 0);

    // Each login is its own session with fresh tokens.
    auto again = login(app, u.email);
    CHECK(again.refresh != refresh);
  }

  TEST_CASE("accounts: login failures are one 401 invalid_credentials whether or not the email exists") {
    TestApp app;
    User u = new_user(app, "creds");
    auto wrong = login_raw(app, u.email, "Wrong-Passw0rd!");
    auto unknown = login_raw(app, fresh_email("nobody"), "Wrong-Passw0rd!");
    for (const auto* r : {&wrong, &unknown}) {
      CHECK(r->status == 401);
      CHECK(r->header("Content-Type") == "application/problem+json");
      CHECK(code_of(*r) == "invalid_credentials");
    }
    auto a = wrong.json().as_object();
    auto b = unknown.json().as_object();
    for (const char* key : {"type", "title", "status", "code", "detail"}) {
      const bool same = a.if_contains(key) == nullptr ? b.if_contains(key) == nullptr
                                                      : (b.if_contains(key) != nullptr && a.at(key) == b.at(key));
      CHECK_MESSAGE(same, key);
    }
    a.erase("request_id");
    b.erase("request_id");
    CHECK(a == b);

    // Missing fields are validation errors, not credential checks.
    auto missing = app.http().post_json("/api/v1/auth/login", json::object{{"email", u.email}});
    CHECK(missing.status == 422);
    CHECK(has_error_field(missing, "password"));
  }

  TEST_CASE("accounts: an unknown email takes about as long to refuse as a wrong password") {
    TestApp app;
    User u = new_user(app, "timing");
    auto time_login = [&](const std::string& email) {
      const auto start = std::chrono::steady_clock::now();
      auto r = login_raw(app, email, "Wrong-Passw0rd!");
      CHECK(r.status == 401);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    // Interleaved, the fastest of three each: scheduler noise only ever adds time.
    double known = 1e9, unknown = 1e9;
    for (int i = 0; i < 3; ++i) {
      known = std::min(known, time_login(u.email));
      unknown = std::min(unknown, time_login(fresh_email("ghost")));
    }
    INFO("known " << known * 1000 << " ms, unknown " << unknown * 1000 << " ms");
    CHECK(unknown >= 0.3 * known);
    CHECK(known >= 0.3 * unknown);
  }

  TEST_CASE("accounts: a suspended user's correct password is refused with 403 account_suspended") {
    TestApp app;
    User u = new_user(app, "susp");
    exec_sql(app, "UPDATE accounts.users SET status = 'suspended' WHERE id = CAST(:id AS uuid)", u.id);
    auto r = login_raw(app, u.email, kPassword);
    CHECK(r.status == 403);
    CHECK(code_of(r) == "account_suspended");
    // A wrong password reveals nothing about the suspension.
    auto wrong = login_raw(app, u.email, "Wrong-Passw0rd!");
    CHECK(wrong.status == 401);
    CHECK(code_of(wrong) == "invalid_credentials");
  }
}
