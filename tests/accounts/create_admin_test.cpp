// `bazaar create-admin --email E` against the real PostgreSQL: the password comes from
// BAZAAR_ADMIN_PASSWORD (never argv), weak passwords and bad arguments are exit code 2, an existing user is
// promoted, and the admin can sign in.
#include "accounts/accounts_support.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

const platform::Command& create_admin(TestApp& app) {
  const platform::Command* found = nullptr;
  for (const auto& c : app.platform().commands()) {
    if (c.name == "create-admin") found = &c;
  }
  REQUIRE_MESSAGE(found != nullptr, "create-admin is not registered");
  return *found;
}

// Runs the command with BAZAAR_ADMIN_PASSWORD set (so it never falls back to reading stdin), then unsets it.
int run_with_password(TestApp& app, const std::string& password, const std::vector<std::string>& args) {
  ::setenv("BAZAAR_ADMIN_PASSWORD", password.c_str(), 1);
  const int rc = create_admin(app).run(args);
  ::unsetenv("BAZAAR_ADMIN_PASSWORD");
  return rc;
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: create-admin creates an admin who can sign in") {
    TestApp app;
    const auto& cmd = create_admin(app);
    CHECK(cmd.usage.find("--email") != std::string::npos);

    const std::string email = fresh_email("cli-admin");
    const std::string password = "Adm1n-Passphrase!";
    CHECK(run_with_password(app, password, {"--email", "  " + email}) == 0);

    std::string role, status;
    int verified = 0;
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT role, status, email_verified::int FROM accounts.users WHERE email = :e", soci::use(email),
          soci::into(role), soci::into(status), soci::into(verified);
    });
    CHECK(role == "admin");
    CHECK(status == "active");
    CHECK(verified == 1);

    Tokens t = login(app, email, password);
    auto claims = app.platform().jwt().verify(t.access);
    REQUIRE(claims.has_value());
    CHECK(claims->role == "admin");
    CHECK(app.http().get("/admin/v1/users?limit=1", t.access).status == 200);
  }

  TEST_CASE("accounts: create-admin promotes an existing user and sets the new password") {
    TestApp app;
    User u = new_user(app, "cli-promote");
    const std::string password = "Promot3d-Passphrase";
    CHECK(run_with_password(app, password, {"--email=" + u.email}) == 0);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e AND role = 'admin'", u.email) == 1);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", u.email) == 1);
    CHECK(login_raw(app, u.email, kPassword).status == 401);
    Tokens t = login(app, u.email, password);
    CHECK(me(app, t.access).at("role") == "admin");
  }

  TEST_CASE("accounts: create-admin refuses weak passwords and bad arguments with exit code 2") {
    TestApp app;
    const std::string email = fresh_email("cli-weak");
    CHECK(run_with_password(app, "short", {"--email", email}) == 2);
    CHECK(run_with_password(app, "password123", {"--email", email}) == 2);
    CHECK(run_with_password(app, "Str0ng-Enough-Pass", {"--email", "not-an-email"}) == 2);
    CHECK(run_with_password(app, "Str0ng-Enough-Pass", {}) == 2);
    CHECK(run_with_password(app, "Str0ng-Enough-Pass", {"--email", email, "--password", "x"}) == 2);
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", email) == 0);
  }
}
