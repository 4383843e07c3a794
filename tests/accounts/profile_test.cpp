// The signed-in user's own account against the real PostgreSQL: reading and patching the profile (with
// read-only fields that stay read-only), changing the password, deleting the account and exporting the
// personal data held.
#include "accounts/accounts_support.hpp"

#include <platform/ids.hpp>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

json::object address_body(const std::string& line1 = "Unter den Linden 1") {
  return {{"first_name", "Ada"}, {"last_name", "Lovelace"}, {"line1", line1},
          {"city", "Berlin"},    {"postal_code", "10117"},   {"country", "DE"}};
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: GET /me returns the signed-in user and needs a token") {
    TestApp app;
    User u = register_user(app, fresh_email("me"), kPassword, "Grace", "Hopper");
    auto r = app.http().get("/api/v1/me", u.token);
    REQUIRE(r.status == 200);
    const auto m = r.json().as_object();
    CHECK(text(m.at("id")) == u.id);
    CHECK(text(m.at("email")) == u.email);
    CHECK(m.at("first_name") == "Grace");
    CHECK(m.at("last_name") == "Hopper");
    CHECK(m.at("role") == "customer");
    CHECK(m.at("status") == "active");
    CHECK(m.size() == 9);
    CHECK(r.body.find("argon2") == std::string::npos);

    auto anonymous = app.http().get("/api/v1/me");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate").has_value());
    CHECK(code_of(anonymous) == "unauthorized");
  }

  TEST_CASE("accounts: PATCH /me changes names and phone, null clears the phone") {
    TestApp app;
    User u = new_user(app, "patch");
    auto r = app.http().patch_json("/api/v1/me", json::object{{"first_name", "Augusta"}, {"phone", "+44 20 7946 0000"}},
                                   u.token);
    REQUIRE(r.status == 200);
    CHECK(r.json().at("first_name") == "Augusta");
    CHECK(r.json().at("last_name") == "Lovelace");  // absent: unchanged
    CHECK(r.json().at("phone") == "+44 20 7946 0000");

    auto r2 = app.http().patch_json("/api/v1/me", json::object{{"last_name", "King"}}, u.token);
    REQUIRE(r2.status == 200);
    CHECK(r2.json().at("phone") == "+44 20 7946 0000");  // absent: unchanged
    CHECK(r2.json().at("last_name") == "King");

    auto cleared = app.http().patch_json("/api/v1/me", json::object{{"phone", nullptr}}, u.token);
    REQUIRE(cleared.status == 200);
    CHECK(cleared.json().at("phone").is_null());
    auto m = me(app, u.token);
    CHECK(m.at("phone").is_null());
    CHECK(m.at("first_name") == "Augusta");
    CHECK(m.at("last_name") == "King");

    auto empty = app.http().patch_json("/api/v1/me", json::object{}, u.token);
    CHECK(empty.status == 200);
  }

  TEST_CASE("accounts: PATCH /me cannot change role, email, status or email_verified") {
    TestApp app;
    User u = new_user(app, "escalate");
    const json::object attack{{"role", "admin"},
                              {"email", fresh_email("hijack")},
                              {"status", "suspended"},
                              {"email_verified", true},
                              {"id", platform::new_uuid_v7()},
                              {"first_name", "Mallory"}};
    auto r = app.http().patch_json("/api/v1/me", attack, u.token);
    CHECK((r.status == 200 || r.status == 422));
    auto m = me(app, u.token);  // the customer token still matches the stored role
    CHECK(text(m.at("id")) == u.id);
    CHECK(m.at("role") == "customer");
    CHECK(text(m.at("email")) == u.email);
    CHECK(m.at("status") == "active");
    CHECK(m.at("email_verified") == false);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE id = CAST(:id AS uuid) AND role = 'customer'",
                    u.id) == 1);
  }

  TEST_CASE("accounts: PATCH /me validates its fields") {
    TestApp app;
    User u = new_user(app, "patch-invalid");
    auto expect_field = [&](const json::object& body, const std::string& field) {
      auto r = app.http().patch_json("/api/v1/me", body, u.token);
      CHECK_MESSAGE(r.status == 422, field << ": " << r.body);
      CHECK_MESSAGE(has_error_field(r, field), field << ": " << r.body);
    };
    expect_field({{"first_name", ""}}, "first_name");
    expect_field({{"last_name", std::string(101, 'x')}}, "last_name");
    expect_field({{"first_name", 7}}, "first_name");
    expect_field({{"phone", "no digits here"}}, "phone");
    auto bad_json = app.http().send(
        HttpRequest{"PATCH", "/api/v1/me", "{oops", {{"Content-Type", "application/json"}}, u.token});
    CHECK(bad_json.status == 400);
    CHECK(app.http().patch_json("/api/v1/me", json::object{{"first_name", "X"}}).status == 401);
    // Nothing was changed by the refused requests.
    CHECK(me(app, u.token).at("first_name") == "Ada");
  }

  TEST_CASE("accounts: changing the password needs the current one and revokes the refresh tokens") {
    TestApp app;
    User u = new_user(app, "chpw");
    Tokens session = login(app, u.email);
    const std::string next = "Brand-N3w-Passphrase";

    auto wrong = app.http().post_json("/api/v1/me/password",
                                      json::object{{"current_password", "not-my-password"}, {"new_password", next}},
                                      session.access);
    CHECK(wrong.status == 422);
    CHECK(has_error_field(wrong, "current_password"));
    auto weak = app.http().post_json("/api/v1/me/password",
                                     json::object{{"current_password", kPassword}, {"new_password", "abc"}},
                                     session.access);
    CHECK(weak.status == 422);
    CHECK(has_error_field(weak, "new_password"));
    auto missing = app.http().post_json("/api/v1/me/password", json::object{{"new_password", next}}, session.access);
    CHECK(missing.status == 422);
    CHECK(has_error_field(missing, "current_password"));
    auto anonymous = app.http().post_json("/api/v1/me/password",
                                          json::object{{"current_password", kPassword}, {"new_password", next}});
    CHECK(anonymous.status == 401);
    CHECK(refresh_raw(app, session.refresh).status == 200);  // the refusals above changed nothing

    // The refresh above rotated the token; log in afresh to have a live one to watch.
    Tokens live = login(app, u.email);
    auto ok = app.http().post_json("/api/v1/me/password",
                                   json::object{{"current_password", kPassword}, {"new_password", next}}, live.access);
    CHECK(ok.status == 204);
    CHECK(refresh_raw(app, live.refresh).status == 401);
    CHECK(login_raw(app, u.email, kPassword).status == 401);
    CHECK(login_raw(app, u.email, next).status == 200);
  }

  TEST_CASE("accounts: deleting the account needs the password and erases it") {
    TestApp app;
    User u = new_user(app, "delete");
    Tokens session = login(app, u.email);
    REQUIRE(app.http().post_json("/api/v1/me/addresses", address_body(), session.access).status == 201);

    auto wrong = send_json(app, "DELETE", "/api/v1/me", json::object{{"password", "not-my-password"}}, session.access);
    CHECK(wrong.status == 422);
    CHECK(has_error_field(wrong, "password"));
    auto missing = send_json(app, "DELETE", "/api/v1/me", json::object{}, session.access);
    CHECK(missing.status == 422);
    CHECK(app.http().del("/api/v1/me", session.access).status == 400);  // no body at all
    CHECK(send_json(app, "DELETE", "/api/v1/me", json::object{{"password", kPassword}}).status == 401);
    CHECK(text(me(app, session.access).at("id")) == u.id);  // still there

    auto ok = send_json(app, "DELETE", "/api/v1/me", json::object{{"password", kPassword}}, session.access);
    CHECK(ok.status == 204);

    auto after = app.http().get("/api/v1/me", session.access);
    CHECK(after.status == 401);
    CHECK(after.header("WWW-Authenticate").has_value());
    CHECK(refresh_raw(app, session.refresh).status == 401);
    auto relogin = login_raw(app, u.email, kPassword);
    CHECK(relogin.status == 401);
    CHECK(code_of(relogin) == "invalid_credentials");

    // Personal data is gone with the row: profile, addresses, tokens.
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE id = CAST(:id AS uuid)", u.id) == 0);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.addresses WHERE user_id = CAST(:id AS uuid)", u.id) == 0);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.refresh_tokens WHERE user_id = CAST(:id AS uuid)", u.id) == 0);

    auto deleted = events_of_type(app, u.id, "accounts.user_deleted");
    REQUIRE(deleted.size() == 1);
    CHECK(deleted[0].version == 1);
    CHECK(deleted[0].payload == json::object{{"user_id", u.id}});

    // The email is free again.
    auto again = app.http().post_json("/api/v1/auth/register", registration(u.email));
    CHECK(again.status == 201);
    CHECK(text(again.json().at("id")) != u.id);
  }

  TEST_CASE("accounts: the export holds the profile and the addresses") {
    TestApp app;
    User u = register_user(app, fresh_email("export"), kPassword, "Grace", "Hopper");
    auto a1 = app.http().post_json("/api/v1/me/addresses", address_body("Line A"), u.token);
    auto a2 = app.http().post_json("/api/v1/me/addresses", address_body("Line B"), u.token);
    REQUIRE(a1.status == 201);
    REQUIRE(a2.status == 201);

    auto r = app.http().get("/api/v1/me/export", u.token);
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(r.header("Content-Disposition").value_or("").find("attachment") != std::string::npos);
    const auto doc = r.json().as_object();
    CHECK(doc.contains("exported_at"));
    const auto& profile = doc.at("profile").as_object();
    CHECK(text(profile.at("id")) == u.id);
    CHECK(text(profile.at("email")) == u.email);
    CHECK(profile.at("first_name") == "Grace");
    const auto& addresses = doc.at("addresses").as_array();
    REQUIRE(addresses.size() == 2);
    CHECK(addresses[0].at("line1") == "Line A");
    CHECK(addresses[1].at("line1") == "Line B");
    CHECK(r.body.find("argon2") == std::string::npos);
    CHECK(r.body.find("password") == std::string::npos);

    CHECK(app.http().get("/api/v1/me/export").status == 401);
  }
}
