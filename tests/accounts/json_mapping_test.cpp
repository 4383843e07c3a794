// GET /me writes its document directly (user_json_text); every other reply builds user_json. The two must
// never drift apart: same fields, same order, same values, for awkward text too.
#include "json_mapping.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

using namespace bazaar;

namespace {

accounts::repo::UserRow awkward_user() {
  accounts::repo::UserRow u;
  u.id = "0190b6a2-0000-7000-8000-000000000001";
  u.email = "o'brien+\"quoted\"@example.com";
  u.password_hash = "$argon2id$must-never-appear";
  u.first_name = "Zoë \\ back\\slash";
  u.last_name = "tab\tnew\nline\rbell\x07 soh\x01 del\x7f end";
  u.role = "customer";
  u.status = "active";
  u.email_verified = true;
  u.created_at = "2026-11-22T08:00:00.123456Z";
  return u;
}

}  // namespace

TEST_SUITE("accounts") {
  TEST_CASE("accounts: the directly written user document equals user_json, byte for byte") {
    auto u = awkward_user();
    for (const bool with_phone : {false, true}) {
      CAPTURE(with_phone);
      if (with_phone) u.phone = "+44 20 7946 0958";
      const std::string text = accounts::user_json_text(u);
      CHECK(text == boost::json::serialize(accounts::user_json(u)));
      CHECK(boost::json::parse(text) == boost::json::value(accounts::user_json(u)));
      CHECK(text.find("argon2") == std::string::npos);
    }
  }
}
