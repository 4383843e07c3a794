// Tokens against the real PostgreSQL: refresh rotation with reuse detection, logout, tampered or foreign
// access tokens on a protected route, and the one-time tokens of email verification and password reset
// (taken from the events in the outbox, as the notifications module would).
#include "accounts/accounts_support.hpp"

#include <platform/ids.hpp>
#include <platform/security.hpp>

#include <chrono>
#include <memory>
#include <string>

using namespace bazaar;
using namespace bazaar::accounts_test;
namespace security = platform::security;

namespace {

struct JwtParts {
  json::object header;
  json::object payload;
  std::string signature;  // base64url, as in the token
};

JwtParts split(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  auto header = security::base64url_decode(token.substr(0, a));
  auto payload = security::base64url_decode(token.substr(a + 1, b - a - 1));
  REQUIRE(header.has_value());
  REQUIRE(payload.has_value());
  return {json::parse(*header).as_object(), json::parse(*payload).as_object(), token.substr(b + 1)};
}

std::string signing_input(const json::object& header, const json::object& payload) {
  return security::base64url_encode(json::serialize(header)) + "." +
         security::base64url_encode(json::serialize(payload));
}

std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// GET /api/v1/me with `token` must be a 401 that tells the client to authenticate with a bearer token.
void expect_rejected(TestApp& app, const std::string& token, const std::string& what) {
  auto r = app.http().get("/api/v1/me", token);
  CHECK_MESSAGE(r.status == 401, what << ": " << r.body);
  CHECK_MESSAGE(r.header("WWW-Authenticate").value_or("").rfind("Bearer", 0) == 0, what);
  CHECK_MESSAGE(r.header("Content-Type") == "application/problem+json", what);
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: refresh rotates the refresh token and issues a working access token") {
    TestApp app;
    User u = new_user(app, "rotate");
    Tokens first = login(app, u.email);
    auto r = refresh_raw(app, first.refresh);
    REQUIRE(r.status == 200);
    const auto t = r.json().as_object();
    CHECK(t.at("token_type") == "Bearer");
    CHECK(t.at("expires_in") == 900);
    const std::string second(t.at("refresh_token").as_string());
    CHECK(second != first.refresh);
    const std::string access(t.at("access_token").as_string());
    CHECK(text(me(app, access).at("id")) == u.id);

    // The rotated token rotates again; the chain continues.
    auto r2 = refresh_raw(app, second);
    REQUIRE(r2.status == 200);
    CHECK(r2.json().at("refresh_token").as_string() != second);
  }

  TEST_CASE("accounts: a reused refresh token is a 401 and revokes its whole family") {
    TestApp app;
    User u = new_user(app, "reuse");
    Tokens session = login(app, u.email);
    Tokens other = login(app, u.email);  // a second session (another device): a different family

    auto rotated = refresh_raw(app, session.refresh);
    REQUIRE(rotated.status == 200);
    const std::string next(rotated.json().at("refresh_token").as_string());

    auto replay = refresh_raw(app, session.refresh);  // the thief (or the victim) presents the old one
    CHECK(replay.status == 401);
    CHECK(replay.header("WWW-Authenticate").has_value());
    CHECK(code_of(replay) == "invalid_token");

    auto after = refresh_raw(app, next);  // the whole family is gone, including the newest token
    CHECK(after.status == 401);
    CHECK(count_sql(app,
                    "SELECT count(*) FROM accounts.refresh_tokens WHERE user_id = CAST(:u AS uuid) "
                    "AND revoked_at IS NULL AND used_at IS NULL",
                    u.id) == 1);  // only the other session's token is live

    auto other_refresh = refresh_raw(app, other.refresh);  // another device's session is not affected
    CHECK(other_refresh.status == 200);
  }

  TEST_CASE("accounts: garbage, expired and missing refresh tokens are refused") {
    TestApp app;
    User u = new_user(app, "expired");
    Tokens t = login(app, u.email);

    for (const std::string& garbage : {std::string("x"), security::random_token(32), std::string(512, 'a')}) {
      auto r = refresh_raw(app, garbage);
      CHECK(r.status == 401);
      CHECK(code_of(r) == "invalid_token");
    }
    auto too_long = refresh_raw(app, std::string(513, 'a'));
    CHECK(too_long.status == 422);
    auto missing = app.http().post_json("/api/v1/auth/refresh", json::object{});
    CHECK(missing.status == 422);
    CHECK(has_error_field(missing, "refresh_token"));
    auto wrong_type = app.http().post_json("/api/v1/auth/refresh", json::object{{"refresh_token", 12}});
    CHECK(wrong_type.status == 422);

    exec_sql(app, "UPDATE accounts.refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = :h",
             security::sha256_hex(t.refresh));
    auto expired = refresh_raw(app, t.refresh);
    CHECK(expired.status == 401);
    CHECK(code_of(expired) == "invalid_token");
  }

  TEST_CASE("accounts: logout is a 204 and ends the refresh token's session") {
    TestApp app;
    User u = new_user(app, "logout");
    Tokens t = login(app, u.email);
    auto rotated = refresh_raw(app, t.refresh);
    REQUIRE(rotated.status == 200);
    const std::string current(rotated.json().at("refresh_token").as_string());

    auto out = app.http().post_json("/api/v1/auth/logout", json::object{{"refresh_token", current}});
    CHECK(out.status == 204);
    CHECK(out.body.empty());
    CHECK(refresh_raw(app, current).status == 401);

    // Logging out twice, or with a token nobody knows, is still a 204 (nothing to reveal).
    CHECK(app.http().post_json("/api/v1/auth/logout", json::object{{"refresh_token", current}}).status == 204);
    CHECK(app.http().post_json("/api/v1/auth/logout", json::object{{"refresh_token", "garbage"}}).status == 204);
    CHECK(app.http().post_json("/api/v1/auth/logout", json::object{}).status == 422);
  }

  TEST_CASE("accounts: tampered, foreign and expired access tokens are 401 with WWW-Authenticate: Bearer") {
    TestApp app;
    User u = new_user(app, "tamper");
    const auto& jwt = app.platform().jwt();
    const std::string good = jwt.issue(u.id, "customer");
    REQUIRE(app.http().get("/api/v1/me", good).status == 200);
    const JwtParts parts = split(good);

    // No token, or not a bearer token, on a protected route.
    {
      auto none = app.http().get("/api/v1/me");
      CHECK(none.status == 401);
      CHECK(none.header("WWW-Authenticate").value_or("").rfind("Bearer", 0) == 0);
      auto basic = app.http().send(HttpRequest{"GET", "/api/v1/me", {}, {{"Authorization", "Basic YTpi"}}, {}});
      CHECK(basic.status == 401);
      CHECK(basic.header("WWW-Authenticate").has_value());
    }

    // One flipped byte of the signature.
    {
      auto sig = security::base64url_decode(parts.signature);
      REQUIRE(sig.has_value());
      (*sig)[sig->size() / 2] = static_cast<char>((*sig)[sig->size() / 2] ^ 0x01);
      expect_rejected(app, signing_input(parts.header, parts.payload) + "." + security::base64url_encode(*sig),
                      "flipped signature byte");
    }
    // A changed claim under the original signature (privilege escalation attempt).
    {
      auto payload = parts.payload;
      payload["role"] = "admin";
      expect_rejected(app, signing_input(parts.header, payload) + "." + parts.signature, "payload edited");
    }
    // alg "none", with an empty and with a garbage signature.
    {
      auto header = parts.header;
      header["alg"] = "none";
      expect_rejected(app, signing_input(header, parts.payload) + ".", "alg none, empty signature");
      expect_rejected(app, signing_input(header, parts.payload) + "." + parts.signature, "alg none, old signature");
    }
    // HS256 signed with the public key as the HMAC secret (algorithm confusion).
    {
      auto header = parts.header;
      header["alg"] = "HS256";
      const auto jwks = jwt.keys().jwks();
      const std::string x(jwks.at("keys").as_array().at(0).at("x").as_string());
      const std::string input = signing_input(header, parts.payload);
      for (const std::string& secret : {x, security::base64url_decode(x).value_or("")}) {
        const std::string mac = hex_to_bytes(security::hmac_sha256_hex(secret, input));
        expect_rejected(app, input + "." + security::base64url_encode(mac), "HS256 with the public key");
      }
    }
    // A kid the server does not know: a foreign key that signs correctly for itself.
    {
      auto foreign = std::make_shared<security::KeyRing>();
      foreign->add_generated("attacker-key");
      security::JwtService attacker(foreign, jwt.settings());
      const std::string token = attacker.issue(u.id, "customer");
      REQUIRE(attacker.verify(token).has_value());
      expect_rejected(app, token, "unknown kid");
      // The same foreign key claiming the server's kid: the signature does not verify.
      auto impostor = std::make_shared<security::KeyRing>();
      impostor->add_generated(jwt.keys().signing_kid());
      security::JwtService impostor_jwt(impostor, jwt.settings());
      expect_rejected(app, impostor_jwt.issue(u.id, "customer"), "foreign key under our kid");
      // No kid at all.
      auto header = parts.header;
      header.erase("kid");
      expect_rejected(app, signing_input(header, parts.payload) + "." + parts.signature, "kid missing");
    }
    // Expired: issued long enough ago that exp is past, beyond the leeway.
    {
      const auto past = std::chrono::system_clock::now() - std::chrono::hours(1);
      expect_rejected(app, jwt.issue(u.id, "customer", past), "expired");
      const auto just_expired = std::chrono::system_clock::now() - jwt.settings().access_ttl - jwt.settings().leeway -
                                std::chrono::seconds(5);
      expect_rejected(app, jwt.issue(u.id, "customer", just_expired), "expired just beyond the leeway");
      // Issued in the future (clock games) is not accepted either.
      expect_rejected(app, jwt.issue(u.id, "customer", std::chrono::system_clock::now() + std::chrono::hours(1)),
                      "issued in the future");
    }
    // Right key, wrong audience or issuer.
    {
      std::shared_ptr<const security::KeyRing> same_keys(std::shared_ptr<const security::KeyRing>{}, &jwt.keys());
      auto settings = jwt.settings();
      settings.audience = "some-other-api";
      security::JwtService other_audience(same_keys, settings);
      const std::string token = other_audience.issue(u.id, "customer");
      REQUIRE(other_audience.verify(token).has_value());
      expect_rejected(app, token, "wrong audience");
      settings = jwt.settings();
      settings.issuer = "not-bazaar";
      security::JwtService other_issuer(same_keys, settings);
      expect_rejected(app, other_issuer.issue(u.id, "customer"), "wrong issuer");
    }
    // Structurally broken tokens.
    for (const std::string& broken : {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
                                      signing_input(parts.header, parts.payload), good + "x", std::string("..")}) {
      expect_rejected(app, broken, "malformed: " + broken.substr(0, 20));
    }
    // A valid token of a user that does not exist (any more).
    expect_rejected(app, jwt.issue(platform::new_uuid_v7(), "customer"), "unknown subject");

    // The good token still works: nothing above changed the server's state.
    CHECK(app.http().get("/api/v1/me", good).status == 200);
  }

  TEST_CASE("accounts: the email verification token from the outbox verifies once") {
    TestApp app;
    User u = new_user(app, "verify");
    CHECK(me(app, u.token).at("email_verified") == false);
    const std::string token = token_from_outbox(app, u.id, "accounts.email_verification_requested");

    auto r = app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", token}});
    CHECK(r.status == 204);
    CHECK(me(app, u.token).at("email_verified") == true);

    auto again = app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", token}});
    CHECK(again.status == 422);
    CHECK(code_of(again) == "invalid_token");

    auto garbage = app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", "garbage"}});
    CHECK(garbage.status == 422);
    CHECK(code_of(garbage) == "invalid_token");
    auto missing = app.http().post_json("/api/v1/auth/verify-email", json::object{});
    CHECK(missing.status == 422);
    CHECK(has_error_field(missing, "token"));
  }

  TEST_CASE("accounts: an expired verification token, or a reset token used to verify, is refused") {
    TestApp app;
    User u = new_user(app, "verify-expired");
    const std::string token = token_from_outbox(app, u.id, "accounts.email_verification_requested");
    exec_sql(app, "UPDATE accounts.one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = :h",
             security::sha256_hex(token));
    auto r = app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", token}});
    CHECK(r.status == 422);
    CHECK(code_of(r) == "invalid_token");

    // Purposes do not mix: a password reset token cannot verify an email, nor the other way round.
    REQUIRE(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}}).status == 202);
    const std::string reset = token_from_outbox(app, u.id, "accounts.password_reset_requested");
    CHECK(app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", reset}}).status == 422);
    CHECK(me(app, u.token).at("email_verified") == false);
  }

  TEST_CASE("accounts: password reset answers 202 alike for known and unknown emails") {
    TestApp app;
    User u = new_user(app, "reset-req");
    auto known = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}});
    const std::string nobody = fresh_email("reset-nobody");
    auto unknown = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", nobody}});
    CHECK(known.status == 202);
    CHECK(unknown.status == 202);
    CHECK(known.body == unknown.body);
    CHECK(known.header("Content-Type") == unknown.header("Content-Type"));

    auto events = events_of_type(app, u.id, "accounts.password_reset_requested");
    REQUIRE(events.size() == 1);
    CHECK(events[0].version == 1);
    CHECK(text(events[0].payload.at("user_id")) == u.id);
    CHECK(text(events[0].payload.at("email")) == u.email);
    CHECK(events[0].payload.at("first_name") == "Ada");
    CHECK(events[0].payload.at("token").as_string().size() >= 43);
    CHECK(events[0].payload.contains("expires_at"));
    // About an hour of lifetime.
    CHECK(count_sql(app,
                    "SELECT count(*) FROM accounts.one_time_tokens WHERE user_id = CAST(:u AS uuid) "
                    "AND purpose = 'password_reset' AND expires_at BETWEEN now() + interval '55 minutes' "
                    "AND now() + interval '65 minutes'",
                    u.id) == 1);

    // The unknown email left no trace in the outbox.
    CHECK(count_sql(app, "SELECT count(*) FROM platform.outbox WHERE payload->>'email' = :e", nobody) == 0);

    // An invalid email is a validation error (that reveals nothing about accounts).
    auto bad = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", "not an email"}});
    CHECK(bad.status == 422);
    CHECK(has_error_field(bad, "email"));
  }

  TEST_CASE("accounts: confirming a password reset changes the password once and ends every session") {
    TestApp app;
    User u = new_user(app, "reset");
    Tokens session = login(app, u.email);
    REQUIRE(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}}).status == 202);
    const std::string token = token_from_outbox(app, u.id, "accounts.password_reset_requested");
    const std::string fresh_password = "N3w-Secret-Phrase";

    auto weak = app.http().post_json("/api/v1/auth/password-reset/confirm",
                                     json::object{{"token", token}, {"new_password", "letmein1"}});
    CHECK(weak.status == 422);
    CHECK(has_error_field(weak, "new_password"));  // and the token was not used up by the refusal

    auto ok = app.http().post_json("/api/v1/auth/password-reset/confirm",
                                   json::object{{"token", token}, {"new_password", fresh_password}});
    CHECK(ok.status == 204);

    CHECK(refresh_raw(app, session.refresh).status == 401);  // all refresh tokens revoked
    CHECK(login_raw(app, u.email, kPassword).status == 401);
    CHECK(login_raw(app, u.email, fresh_password).status == 200);

    auto reuse = app.http().post_json("/api/v1/auth/password-reset/confirm",
                                      json::object{{"token", token}, {"new_password", "An0ther-Secret!"}});
    CHECK(reuse.status == 422);
    CHECK(code_of(reuse) == "invalid_token");
    auto garbage = app.http().post_json("/api/v1/auth/password-reset/confirm",
                                        json::object{{"token", "garbage"}, {"new_password", "An0ther-Secret!"}});
    CHECK(garbage.status == 422);
    CHECK(code_of(garbage) == "invalid_token");
  }

  TEST_CASE("accounts: an expired password reset token is refused") {
    TestApp app;
    User u = new_user(app, "reset-expired");
    REQUIRE(app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", u.email}}).status == 202);
    const std::string token = token_from_outbox(app, u.id, "accounts.password_reset_requested");
    exec_sql(app, "UPDATE accounts.one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = :h",
             security::sha256_hex(token));
    auto r = app.http().post_json("/api/v1/auth/password-reset/confirm",
                                  json::object{{"token", token}, {"new_password", "N3w-Secret-Phrase"}});
    CHECK(r.status == 422);
    CHECK(code_of(r) == "invalid_token");
  }
}
