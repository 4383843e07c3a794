// Saved addresses against the real PostgreSQL: CRUD, validation, a single default shipping address, the
// per-user limit, and object-level authorisation (another user's address is a 404, never a 403).
#include "accounts/accounts_support.hpp"

#include <accounts/module.hpp>
#include <platform/ids.hpp>

#include "support/async.hpp"

#include <string>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

json::object address_body(const std::string& line1 = "Unter den Linden 1") {
  return {{"first_name", "Ada"}, {"last_name", "Lovelace"}, {"line1", line1},
          {"city", "Berlin"},    {"postal_code", "10117"},   {"country", "DE"}};
}

json::object create(TestApp& app, const User& u, const json::object& body) {
  auto r = app.http().post_json("/api/v1/me/addresses", body, u.token);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json().as_object();
}

std::string id_of(const json::object& o) { return std::string(o.at("id").as_string()); }

json::array list(TestApp& app, const User& u) {
  auto r = app.http().get("/api/v1/me/addresses", u.token);
  REQUIRE(r.status == 200);
  return r.json().at("items").as_array();
}

bool is_default(TestApp& app, const User& u, const std::string& id) {
  auto r = app.http().get("/api/v1/me/addresses/" + id, u.token);
  REQUIRE(r.status == 200);
  return r.json().at("is_default_shipping").as_bool();
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: addresses can be created, listed, read, patched and deleted") {
    TestApp app;
    User u = new_user(app, "addr");
    CHECK(list(app, u).empty());

    auto full = address_body();
    full["label"] = "Home";
    full["line2"] = "3rd floor";
    full["region"] = "Berlin";
    full["phone"] = "+49 30 1234567";
    full["is_default_shipping"] = true;
    auto r = app.http().post_json("/api/v1/me/addresses", full, u.token);
    REQUIRE(r.status == 201);
    const auto a = r.json().as_object();
    CHECK(a.size() == 12);
    CHECK(platform::is_uuid(id_of(a)));
    CHECK(a.at("label") == "Home");
    CHECK(a.at("first_name") == "Ada");
    CHECK(a.at("last_name") == "Lovelace");
    CHECK(a.at("line1") == "Unter den Linden 1");
    CHECK(a.at("line2") == "3rd floor");
    CHECK(a.at("city") == "Berlin");
    CHECK(a.at("postal_code") == "10117");
    CHECK(a.at("region") == "Berlin");
    CHECK(a.at("country") == "DE");
    CHECK(a.at("phone") == "+49 30 1234567");
    CHECK(a.at("is_default_shipping") == true);

    // Optional fields absent: null, not default.
    const auto minimal = create(app, u, address_body("Second street 2"));
    CHECK(minimal.at("label").is_null());
    CHECK(minimal.at("line2").is_null());
    CHECK(minimal.at("region").is_null());
    CHECK(minimal.at("phone").is_null());
    CHECK(minimal.at("is_default_shipping") == false);

    auto items = list(app, u);
    REQUIRE(items.size() == 2);
    CHECK(items[0] == a);  // oldest first
    CHECK(items[1].at("id") == minimal.at("id"));

    auto got = app.http().get("/api/v1/me/addresses/" + id_of(a), u.token);
    REQUIRE(got.status == 200);
    CHECK(got.json() == json::value(a));

    // PATCH is partial: only the fields sent change; null clears an optional one.
    auto patched = app.http().patch_json("/api/v1/me/addresses/" + id_of(a),
                                         json::object{{"city", "Potsdam"}, {"line2", nullptr}, {"country", "AT"}},
                                         u.token);
    REQUIRE(patched.status == 200);
    const auto p = patched.json().as_object();
    CHECK(p.at("city") == "Potsdam");
    CHECK(p.at("line2").is_null());
    CHECK(p.at("country") == "AT");
    CHECK(p.at("label") == "Home");
    CHECK(p.at("line1") == "Unter den Linden 1");
    CHECK(p.at("is_default_shipping") == true);
    CHECK(app.http().get("/api/v1/me/addresses/" + id_of(a), u.token).json() == json::value(p));

    auto del = app.http().del("/api/v1/me/addresses/" + id_of(a), u.token);
    CHECK(del.status == 204);
    CHECK(app.http().get("/api/v1/me/addresses/" + id_of(a), u.token).status == 404);
    CHECK(app.http().del("/api/v1/me/addresses/" + id_of(a), u.token).status == 404);
    CHECK(list(app, u).size() == 1);

    // Every address route needs a token.
    CHECK(app.http().get("/api/v1/me/addresses").status == 401);
    CHECK(app.http().post_json("/api/v1/me/addresses", address_body()).status == 401);
    CHECK(app.http().get("/api/v1/me/addresses/" + id_of(minimal)).status == 401);
    CHECK(app.http().patch_json("/api/v1/me/addresses/" + id_of(minimal), json::object{}).status == 401);
    CHECK(app.http().del("/api/v1/me/addresses/" + id_of(minimal)).status == 401);
  }

  TEST_CASE("accounts: address fields are validated with 422 per field") {
    TestApp app;
    User u = new_user(app, "addr-invalid");
    auto expect_field = [&](const json::object& body, const std::string& field) {
      auto r = app.http().post_json("/api/v1/me/addresses", body, u.token);
      CHECK_MESSAGE(r.status == 422, field << ": " << r.body);
      CHECK(code_of(r) == "validation_failed");
      CHECK_MESSAGE(has_error_field(r, field), field << ": " << r.body);
    };
    for (const char* required : {"first_name", "last_name", "line1", "city", "postal_code", "country"}) {
      auto body = address_body();
      body.erase(required);
      expect_field(body, required);
      body[required] = "";
      expect_field(body, required);
    }
    for (const char* country : {"de", "De", "XX", "DEU", "D", "UK", "12"}) {
      auto body = address_body();
      body["country"] = country;
      expect_field(body, "country");
    }
    auto phone = address_body();
    phone["phone"] = "not a phone";
    expect_field(phone, "phone");
    auto flag = address_body();
    flag["is_default_shipping"] = "yes";
    expect_field(flag, "is_default_shipping");
    auto long_city = address_body();
    long_city["city"] = std::string(101, 'c');
    expect_field(long_city, "city");
    CHECK(list(app, u).empty());

    // The same rules on PATCH, and a refused PATCH changes nothing.
    const auto a = create(app, u, address_body());
    auto bad = app.http().patch_json("/api/v1/me/addresses/" + id_of(a),
                                     json::object{{"country", "de"}, {"city", "Hamburg"}}, u.token);
    CHECK(bad.status == 422);
    CHECK(has_error_field(bad, "country"));
    auto empty = app.http().patch_json("/api/v1/me/addresses/" + id_of(a), json::object{{"line1", ""}}, u.token);
    CHECK(empty.status == 422);
    CHECK(has_error_field(empty, "line1"));
    auto stored = app.http().get("/api/v1/me/addresses/" + id_of(a), u.token).json().as_object();
    CHECK(stored.at("city") == "Berlin");
    CHECK(stored.at("country") == "DE");
  }

  TEST_CASE("accounts: only one address is the default shipping address") {
    TestApp app;
    User u = new_user(app, "addr-default");
    auto body = address_body("First");
    body["is_default_shipping"] = true;
    const auto first = create(app, u, body);
    body["line1"] = "Second";
    const auto second = create(app, u, body);  // a second default unsets the first
    CHECK_FALSE(is_default(app, u, id_of(first)));
    CHECK(is_default(app, u, id_of(second)));

    const auto third = create(app, u, address_body("Third"));
    auto r = app.http().patch_json("/api/v1/me/addresses/" + id_of(third), json::object{{"is_default_shipping", true}},
                                   u.token);
    REQUIRE(r.status == 200);
    CHECK(r.json().at("is_default_shipping") == true);
    CHECK_FALSE(is_default(app, u, id_of(first)));
    CHECK_FALSE(is_default(app, u, id_of(second)));
    CHECK(is_default(app, u, id_of(third)));

    int defaults = 0;
    for (const auto& a : list(app, u)) defaults += a.at("is_default_shipping").as_bool() ? 1 : 0;
    CHECK(defaults == 1);

    // Unsetting leaves none; another user's default is independent.
    REQUIRE(app.http().patch_json("/api/v1/me/addresses/" + id_of(third), json::object{{"is_default_shipping", false}},
                                  u.token).status == 200);
    CHECK_FALSE(is_default(app, u, id_of(third)));
    User other = new_user(app, "addr-default-other");
    auto theirs = address_body();
    theirs["is_default_shipping"] = true;
    create(app, other, theirs);
    REQUIRE(app.http().patch_json("/api/v1/me/addresses/" + id_of(first), json::object{{"is_default_shipping", true}},
                                  u.token).status == 200);
    CHECK(list(app, other).at(0).at("is_default_shipping") == true);
  }

  TEST_CASE("accounts: another user's address is a 404 for reading, changing and deleting") {
    TestApp app;
    User alice = new_user(app, "bola-a");
    User bob = new_user(app, "bola-b");
    const auto a = create(app, alice, address_body("Alice's street"));
    const std::string path = "/api/v1/me/addresses/" + id_of(a);

    auto get = app.http().get(path, bob.token);
    CHECK(get.status == 404);
    CHECK(code_of(get) == "not_found");
    auto patch = app.http().patch_json(path, json::object{{"city", "Stolen"}}, bob.token);
    CHECK(patch.status == 404);
    auto del = app.http().del(path, bob.token);
    CHECK(del.status == 404);
    // The same answer as for an address that does not exist at all.
    auto missing = app.http().get("/api/v1/me/addresses/" + platform::new_uuid_v7(), bob.token);
    CHECK(missing.status == 404);
    CHECK(get.json().at("title") == missing.json().at("title"));
    CHECK(get.json().at("detail") == missing.json().at("detail"));
    CHECK(list(app, bob).empty());

    // Alice's address is untouched.
    auto still = app.http().get(path, alice.token);
    REQUIRE(still.status == 200);
    CHECK(still.json().at("city") == "Berlin");

    // The facade gives addresses only to their owner.
    auto* accounts = [&]() -> bazaar::accounts::AccountsModule* {
      for (auto& m : app.application().modules) {
        if (m->name() == "accounts") return dynamic_cast<bazaar::accounts::AccountsModule*>(m.get());
      }
      return nullptr;
    }();
    REQUIRE(accounts != nullptr);
    auto& dir = accounts->directory();
    auto own = testing::run_awaitable(dir.address(alice.id, id_of(a)));
    REQUIRE(own.has_value());
    CHECK(own->line1 == "Alice's street");
    CHECK_FALSE(testing::run_awaitable(dir.address(bob.id, id_of(a))).has_value());
    CHECK_FALSE(testing::run_awaitable(dir.address(alice.id, "not-a-uuid")).has_value());
  }

  TEST_CASE("accounts: a malformed address id is a 404") {
    TestApp app;
    User u = new_user(app, "addr-malformed");
    for (const char* bad : {"123", "not-a-uuid", "00000000-0000-0000-0000-00000000000g", "'%20OR%201=1"}) {
      CHECK_MESSAGE(app.http().get(std::string("/api/v1/me/addresses/") + bad, u.token).status == 404, bad);
      CHECK_MESSAGE(app.http().del(std::string("/api/v1/me/addresses/") + bad, u.token).status == 404, bad);
      CHECK_MESSAGE(
          app.http().patch_json(std::string("/api/v1/me/addresses/") + bad, json::object{}, u.token).status == 404, bad);
    }
  }

  TEST_CASE("accounts: the 21st address is a 409 too_many_addresses") {
    TestApp app;
    User u = new_user(app, "addr-limit");
    for (int i = 0; i < 20; ++i) create(app, u, address_body("Street " + std::to_string(i)));
    auto r = app.http().post_json("/api/v1/me/addresses", address_body("One too many"), u.token);
    CHECK(r.status == 409);
    CHECK(code_of(r) == "too_many_addresses");
    CHECK(list(app, u).size() == 20);

    // Deleting one makes room again.
    const std::string first(list(app, u).at(0).at("id").as_string());
    REQUIRE(app.http().del("/api/v1/me/addresses/" + first, u.token).status == 204);
    CHECK(app.http().post_json("/api/v1/me/addresses", address_body("Room again"), u.token).status == 201);
  }
}
