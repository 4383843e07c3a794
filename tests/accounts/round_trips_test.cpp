// SQL round-trip budgets of the accounts hot paths (issue 3's benchmark holds GET /api/v1/me to its SQL
// run by pgbench, which is only reachable with one prepared statement per request). The application's
// single database connection goes through a counting proxy; a warm-up request prepares the statements
// on it, as long-running instances have done long before any measured request.
#include "accounts/accounts_support.hpp"

#include "support/async.hpp"
#include "support/round_trips.hpp"

#include <accounts/module.hpp>
#include <platform/ids.hpp>

#include <stdexcept>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

// The accounts facade other modules are given, as the composition root wired it.
accounts::Directory& directory_of(TestApp& app) {
  for (auto& m : app.application().modules) {
    if (m->name() == "accounts") return dynamic_cast<accounts::AccountsModule&>(*m).directory();
  }
  throw std::logic_error("the application has no accounts module");
}

json::object address_body() {
  return {{"first_name", "Ada"}, {"last_name", "Lovelace"}, {"line1", "Unter den Linden 1"},
          {"city", "Berlin"},    {"postal_code", "10117"},   {"country", "DE"}};
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: GET /me is one SQL round trip once the principal's status is cached") {
    testing::RoundTripApp probe;
    User u = register_user(probe.app(), fresh_email("rt-me"));
    auto http = probe.http();
    REQUIRE(http.get("/api/v1/me", u.token).status == 200);  // warm-up: prepares, caches the status

    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/me", u.token).status == 200); }) == 1);
    CHECK(probe.count([&] {
      REQUIRE(http.get("/api/v1/me", u.token).status == 200);
      REQUIRE(http.get("/api/v1/me", u.token).status == 200);
    }) == 2);
  }

  TEST_CASE("accounts: the principal check of an uncached user is one SQL round trip") {
    testing::RoundTripApp probe;
    User warm = register_user(probe.app(), fresh_email("rt-warm"));
    User cold = register_user(probe.app(), fresh_email("rt-cold"));
    auto http = probe.http();
    REQUIRE(http.get("/api/v1/me", warm.token).status == 200);  // prepares both statements

    // First request of `cold`: its status and role, then the profile.
    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/me", cold.token).status == 200); }) == 2);
    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/me", cold.token).status == 200); }) == 1);
  }

  TEST_CASE("accounts: the facade's contact and address are one SQL round trip each") {
    testing::RoundTripApp probe;
    User u = register_user(probe.app(), fresh_email("rt-facade"), kPassword, "Grace", "Hopper");
    auto created = probe.http().post_json("/api/v1/me/addresses", address_body(), u.token);
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const std::string address_id(created.json().at("id").as_string());
    auto& dir = directory_of(probe.app());
    REQUIRE(testing::run_awaitable(dir.contact(u.id)).has_value());                // warm-up
    REQUIRE(testing::run_awaitable(dir.address(u.id, address_id)).has_value());  // warm-up

    std::optional<accounts::UserContact> contact;
    CHECK(probe.count([&] { contact = testing::run_awaitable(dir.contact(u.id)); }) == 1);
    REQUIRE(contact.has_value());
    CHECK(contact->email == u.email);
    CHECK(contact->first_name == "Grace");
    CHECK(contact->last_name == "Hopper");

    std::optional<accounts::Address> address;
    CHECK(probe.count([&] { address = testing::run_awaitable(dir.address(u.id, address_id)); }) == 1);
    REQUIRE(address.has_value());
    CHECK(address->line1 == "Unter den Linden 1");
    CHECK(address->country == "DE");

    // Malformed ids never reach the database.
    CHECK(probe.count([&] { CHECK_FALSE(testing::run_awaitable(dir.contact("not-a-uuid")).has_value()); }) == 0);
    CHECK(probe.count([&] {
      CHECK_FALSE(testing::run_awaitable(dir.address(u.id, "not-a-uuid")).has_value());
    }) == 0);
    // Unknown users: one round trip, no answer.
    CHECK_FALSE(testing::run_awaitable(dir.contact(platform::new_uuid_v7())).has_value());
  }
}
