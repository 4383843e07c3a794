// Admin user management against the real PostgreSQL: search and filters with keyset pagination, role and
// status changes with audit log entries, suspension that reaches live tokens at once, the guard against
// locking oneself out, deletion, and the access rules (customers 403, anonymous 401).
#include "accounts/accounts_support.hpp"

#include <platform/ids.hpp>

#include <set>
#include <string>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

json::object page(TestApp& app, const std::string& token, const std::string& query) {
  auto r = app.http().get("/admin/v1/users" + query, token);
  REQUIRE_MESSAGE(r.status == 200, query << ": " << r.body);
  return r.json().as_object();
}

std::set<std::string> ids_in(const json::object& p) {
  std::set<std::string> out;
  for (const auto& u : p.at("items").as_array()) out.insert(std::string(u.at("id").as_string()));
  return out;
}

HttpResponse patch_user(TestApp& app, const std::string& token, const std::string& id, const json::object& body) {
  return app.http().patch_json("/admin/v1/users/" + id, body, token);
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: admins search users by email or name and filter by role and status") {
    TestApp app;
    const std::string tag = "zq" + testing::unique_suffix();
    User admin = new_admin(app, "Root", tag);
    User a = register_user(app, fresh_email("list-" + tag), kPassword, "Alpha", "Person");  // tag in the email
    User b = register_user(app, fresh_email("list"), kPassword, "Beta" + tag, "Person");    // tag in a name
    User c = register_user(app, fresh_email("list"), kPassword, "Gamma", tag);
    User outsider = new_user(app, "list-outsider");

    auto all = page(app, admin.token, "?q=" + tag + "&limit=100");
    CHECK(ids_in(all) == std::set<std::string>{admin.id, a.id, b.id, c.id});
    CHECK(all.at("next_cursor").is_null());
    for (const auto& u : all.at("items").as_array()) {
      CHECK(u.as_object().size() == 9);
      CHECK(!u.as_object().contains("password_hash"));
    }

    // The search is case-insensitive and treats LIKE wildcards literally.
    std::string upper = tag;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    CHECK(ids_in(page(app, admin.token, "?q=" + upper + "&limit=100")).size() == 4);
    CHECK(page(app, admin.token, "?q=%25" + tag + "%25zz").at("items").as_array().empty());
    CHECK(page(app, admin.token, "?q=_q" + tag.substr(2)).at("items").as_array().empty());
    // A full email finds exactly that user.
    CHECK(ids_in(page(app, admin.token, "?q=" + outsider.email)) == std::set<std::string>{outsider.id});

    CHECK(ids_in(page(app, admin.token, "?q=" + tag + "&role=admin")) == std::set<std::string>{admin.id});
    CHECK(ids_in(page(app, admin.token, "?q=" + tag + "&role=customer")) == std::set<std::string>{a.id, b.id, c.id});

    REQUIRE(patch_user(app, admin.token, b.id, {{"status", "suspended"}}).status == 200);
    CHECK(ids_in(page(app, admin.token, "?q=" + tag + "&status=suspended")) == std::set<std::string>{b.id});
    CHECK(ids_in(page(app, admin.token, "?q=" + tag + "&status=active&role=customer")) ==
          std::set<std::string>{a.id, c.id});
  }

  TEST_CASE("accounts: the admin user list pages with a cursor, newest first, without gaps or repeats") {
    TestApp app;
    const std::string tag = "pg" + testing::unique_suffix();
    User admin = new_admin(app);
    std::vector<std::string> created;
    for (int i = 0; i < 5; ++i) created.push_back(register_user(app, fresh_email(tag), kPassword, "Page", "User").id);

    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    for (;;) {
      auto p = page(app, admin.token, "?q=" + tag + "&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
      ++pages;
      const auto& items = p.at("items").as_array();
      CHECK(items.size() <= 2);
      for (const auto& u : items) seen.emplace_back(u.at("id").as_string());
      if (p.at("next_cursor").is_null()) break;
      cursor = std::string(p.at("next_cursor").as_string());
      REQUIRE(pages < 10);
      // A user registered while paging does not disturb the pages still to come (keyset: newer ids).
      if (pages == 1) register_user(app, fresh_email(tag), kPassword, "Late", "User");
    }
    CHECK(pages == 3);
    std::vector<std::string> expected(created.rbegin(), created.rend());
    CHECK(seen == expected);
  }

  TEST_CASE("accounts: bad list parameters are a 422") {
    TestApp app;
    User admin = new_admin(app);
    for (const char* q : {"?limit=0", "?limit=101", "?limit=abc", "?limit=-1", "?role=owner", "?status=deleted",
                          "?cursor=%21%21%21", "?cursor=bm90LWEtdXVpZA"}) {
      auto r = app.http().get(std::string("/admin/v1/users") + q, admin.token);
      CHECK_MESSAGE(r.status == 422, q << ": " << r.body);
      CHECK(code_of(r) == "validation_failed");
    }
    CHECK(has_error_field(app.http().get("/admin/v1/users?limit=0", admin.token), "limit"));
    CHECK(app.http().get("/admin/v1/users?limit=100", admin.token).status == 200);
    CHECK(app.http().get("/admin/v1/users?q=" + std::string(201, 'q'), admin.token).status == 422);
  }

  TEST_CASE("accounts: admin user routes refuse customers with 403 and anonymous callers with 401") {
    TestApp app;
    User customer = new_user(app, "not-admin");
    User target = new_user(app, "target");
    const std::string one = "/admin/v1/users/" + target.id;

    auto forbidden = app.http().get("/admin/v1/users", customer.token);
    CHECK(forbidden.status == 403);
    CHECK(code_of(forbidden) == "forbidden");
    CHECK(app.http().get(one, customer.token).status == 403);
    CHECK(patch_user(app, customer.token, target.id, {{"role", "admin"}}).status == 403);
    CHECK(app.http().del(one, customer.token).status == 403);
    CHECK(patch_user(app, customer.token, customer.id, {{"role", "admin"}}).status == 403);

    auto anonymous = app.http().get("/admin/v1/users");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate").has_value());
    CHECK(app.http().get(one).status == 401);
    CHECK(app.http().patch_json(one, json::object{{"role", "admin"}}).status == 401);
    CHECK(app.http().del(one).status == 401);

    // A customer who forges the role claim is refused: the role is checked against the database.
    auto forged = app.http().get("/admin/v1/users", app.token_for(customer.id, "admin"));
    CHECK(forged.status == 401);
    CHECK(me(app, target.token).at("role") == "customer");
  }

  TEST_CASE("accounts: admins read and change a user's role and status, and each write is audited") {
    TestApp app;
    User admin = new_admin(app);
    User u = new_user(app, "managed");

    auto got = app.http().get("/admin/v1/users/" + u.id, admin.token);
    REQUIRE(got.status == 200);
    CHECK(text(got.json().at("email")) == u.email);
    CHECK(app.http().get("/admin/v1/users/" + platform::new_uuid_v7(), admin.token).status == 404);
    CHECK(app.http().get("/admin/v1/users/not-a-uuid", admin.token).status == 404);

    auto promoted = patch_user(app, admin.token, u.id, {{"role", "admin"}});
    REQUIRE(promoted.status == 200);
    CHECK(promoted.json().at("role") == "admin");
    CHECK(promoted.json().at("status") == "active");
    // The customer token of the promoted user no longer matches the stored role: sign in again.
    auto stale = app.http().get("/api/v1/me", u.token);
    CHECK(stale.status == 401);
    CHECK(me(app, app.token_for(u.id, "admin")).at("role") == "admin");

    auto demoted = patch_user(app, admin.token, u.id, {{"role", "customer"}, {"status", "suspended"}});
    REQUIRE(demoted.status == 200);
    CHECK(demoted.json().at("role") == "customer");
    CHECK(demoted.json().at("status") == "suspended");
    auto back = patch_user(app, admin.token, u.id, {{"status", "active"}});
    REQUIRE(back.status == 200);
    CHECK(back.json().at("status") == "active");
    CHECK(me(app, u.token).at("status") == "active");

    for (const json::object& bad : {json::object{{"role", "owner"}}, json::object{{"status", "banned"}},
                                    json::object{{"role", 1}}}) {
      auto r = patch_user(app, admin.token, u.id, bad);
      CHECK(r.status == 422);
      CHECK(code_of(r) == "validation_failed");
    }
    CHECK(patch_user(app, admin.token, platform::new_uuid_v7(), {{"status", "suspended"}}).status == 404);

    // The audit log shows who changed what, newest first.
    auto audit = app.http().get("/admin/v1/audit?actor=" + admin.id, admin.token);
    REQUIRE(audit.status == 200);
    const auto entries = audit.json().at("items").as_array();
    REQUIRE(entries.size() == 3);
    for (const auto& e : entries) {
      CHECK(e.at("action") == "accounts.user.update");
      CHECK(e.at("target_type") == "user");
      CHECK(text(e.at("target_id")) == u.id);
      CHECK(text(e.at("actor_id")) == admin.id);
    }
    const auto& first = entries.at(2).at("details").as_object();
    CHECK(first.at("role") == json::object{{"from", "customer"}, {"to", "admin"}});
    const auto& second = entries.at(1).at("details").as_object();
    CHECK(second.at("role") == json::object{{"from", "admin"}, {"to", "customer"}});
    CHECK(second.at("status") == json::object{{"from", "active"}, {"to", "suspended"}});
  }

  TEST_CASE("accounts: suspension locks a user out at once: live token 403, login 403, refresh 403") {
    TestApp app;
    User admin = new_admin(app);
    User u = new_user(app, "suspend");
    Tokens session = login(app, u.email);
    REQUIRE(me(app, session.access).at("status") == "active");  // the status is now cached on this instance

    REQUIRE(patch_user(app, admin.token, u.id, {{"status", "suspended"}}).status == 200);

    auto r = app.http().get("/api/v1/me", session.access);
    CHECK(r.status == 403);
    CHECK(code_of(r) == "account_suspended");
    auto addresses = app.http().get("/api/v1/me/addresses", session.access);
    CHECK(addresses.status == 403);

    auto l = login_raw(app, u.email, kPassword);
    CHECK(l.status == 403);
    CHECK(code_of(l) == "account_suspended");

    auto f = refresh_raw(app, session.refresh);
    CHECK(f.status == 403);
    CHECK(code_of(f) == "account_suspended");

    // Reinstated: the access token works again, and so does logging in.
    REQUIRE(patch_user(app, admin.token, u.id, {{"status", "active"}}).status == 200);
    CHECK(app.http().get("/api/v1/me", session.access).status == 200);
    CHECK(login_raw(app, u.email, kPassword).status == 200);
    // The sessions ended by the suspension stay ended.
    CHECK(refresh_raw(app, session.refresh).status == 401);
  }

  TEST_CASE("accounts: admins cannot suspend, demote or delete themselves") {
    TestApp app;
    User admin = new_admin(app);
    for (const json::object& body : {json::object{{"status", "suspended"}}, json::object{{"role", "customer"}},
                                     json::object{{"role", "customer"}, {"status", "suspended"}}}) {
      auto r = patch_user(app, admin.token, admin.id, body);
      CHECK(r.status == 409);
      CHECK(code_of(r) == "cannot_modify_self");
    }
    auto del = app.http().del("/admin/v1/users/" + admin.id, admin.token);
    CHECK(del.status == 409);
    // Harmless self-updates are allowed, and the admin is still an admin.
    CHECK(patch_user(app, admin.token, admin.id, {{"role", "admin"}, {"status", "active"}}).status == 200);
    auto self = me(app, admin.token);
    CHECK(self.at("role") == "admin");
    CHECK(self.at("status") == "active");
  }

  TEST_CASE("accounts: an admin deletes a user: 204, then 404, with an event and an audit entry") {
    TestApp app;
    User admin = new_admin(app);
    User u = new_user(app, "admin-delete");
    REQUIRE(text(me(app, u.token).at("id")) == u.id);

    auto del = app.http().del("/admin/v1/users/" + u.id, admin.token);
    CHECK(del.status == 204);
    CHECK(app.http().get("/admin/v1/users/" + u.id, admin.token).status == 404);
    CHECK(app.http().del("/admin/v1/users/" + u.id, admin.token).status == 404);
    CHECK(app.http().get("/api/v1/me", u.token).status == 401);  // the deleted user's token stops at once

    CHECK(events_of_type(app, u.id, "accounts.user_deleted").size() == 1);
    auto audit = app.http().get("/admin/v1/audit?actor=" + admin.id, admin.token);
    REQUIRE(audit.status == 200);
    const auto entries = audit.json().at("items").as_array();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].at("action") == "accounts.user.delete");
    CHECK(text(entries[0].at("target_id")) == u.id);
  }
}
