// The admin audit log against the real PostgreSQL: record_audit writes in the caller's transaction (so it
// never claims a change that rolled back), GET /admin/v1/audit lists newest first with an actor filter and
// keyset pagination, and secrets never reach the log.
#include "support/test_env.hpp"

#include <platform/audit.hpp>
#include <platform/db.hpp>
#include <platform/events.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>

#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace bazaar;
using platform::AuditEntry;
using platform::Tx;
using testing::TestApp;
namespace json = boost::json;

// A token for a fresh user of `role`. The accounts module (when composed) refuses tokens of users it does
// not know, so the user is created first, as registration or `bazaar create-admin` would.
std::string new_user_token(TestApp& app, const std::string& role = "customer", std::string user_id = {}) {
  if (user_id.empty()) user_id = platform::new_uuid_v7();
  app.platform().db().run_sync([&](soci::session& s) {
    int has_accounts = 0;
    s << "SELECT (to_regclass('accounts.users') IS NOT NULL)::int", soci::into(has_accounts);
    if (!has_accounts) return;
    const std::string email = "user-" + user_id + "@test.invalid";
    s << R"sql(INSERT INTO accounts.users (id, email, password_hash, first_name, last_name, role)
               VALUES (CAST(:id AS uuid), :email, 'not-a-hash', 'Test', 'User', :role))sql",
        soci::use(user_id), soci::use(email), soci::use(role);
  });
  return app.token_for(user_id, role);
}

// What an admin route's handler has at hand: the request, with its principal and request id.
platform::http::Request admin_request(const std::string& actor) {
  platform::http::Request rq;
  rq.method = platform::http::Method::post;
  rq.request_id = "req-" + testing::unique_suffix();
  rq.principal = std::make_shared<const platform::http::Principal>(
      platform::http::Principal{actor, "admin", "jti-" + testing::unique_suffix()});
  return rq;
}

AuditEntry entry(const std::string& target_id, json::object details = {}) {
  return AuditEntry{"test.thing.update", "thing", target_id, std::move(details)};
}

json::object get_page(TestApp& app, const std::string& admin, const std::string& query) {
  auto r = app.http().get("/admin/v1/audit" + query, admin);
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

// "t3,t2,t1": the page's target ids, in order (a string, so that a failed CHECK shows both sides).
std::string target_ids(const json::object& page) {
  std::string out;
  for (const auto& item : page.at("items").as_array()) {
    if (!out.empty()) out += ',';
    out += item.at("target_id").as_string();
  }
  return out;
}

bool is_rfc3339_utc(const std::string& s) {  // 2026-11-21T10:00:00.123Z
  return s.size() == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
         s[19] == '.' && s[23] == 'Z';
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("audit: entries recorded in committed transactions are listed newest first with who, what and when") {
    TestApp app;
    auto& db = app.platform().db();
    const std::string admin = new_user_token(app, "admin");
    const std::string actor = platform::new_uuid_v7();
    const auto rq = admin_request(actor);

    // Several entries in one transaction, in quick succession (often within the same millisecond).
    db.transaction_sync([&](Tx& tx) {
      for (int i = 1; i <= 5; ++i) platform::record_audit(tx, rq, entry("t" + std::to_string(i), {{"step", i}}));
    });
    db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, rq, entry("t6")); });

    auto page = get_page(app, admin, "?actor=" + actor);
    CHECK(target_ids(page) == "t6,t5,t4,t3,t2,t1");
    CHECK(page.at("next_cursor").is_null());
    const auto& newest = page.at("items").as_array().at(0).as_object();
    CHECK(platform::is_uuid(newest.at("id").as_string()));
    CHECK(newest.at("actor_id") == actor.c_str());
    CHECK(newest.at("action") == "test.thing.update");
    CHECK(newest.at("target_type") == "thing");
    CHECK(newest.at("request_id") == rq.request_id.c_str());
    CHECK(is_rfc3339_utc(std::string(newest.at("created_at").as_string())));
    CHECK(page.at("items").as_array().at(1).at("details") == json::object{{"step", 5}});

    // The filter really filters: another actor's entries are not in this list, but in the unfiltered one.
    const std::string other = platform::new_uuid_v7();
    db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, admin_request(other), entry("other-" + other)); });
    CHECK(target_ids(get_page(app, admin, "?actor=" + actor)) == "t6,t5,t4,t3,t2,t1");
    CHECK(target_ids(get_page(app, admin, "?actor=" + other)) == "other-" + other);
    std::set<std::string> actors;
    const auto all = get_page(app, admin, "?limit=100");
    for (const auto& item : all.at("items").as_array()) {
      actors.emplace(item.at("actor_id").as_string());
    }
    CHECK(actors.count(actor) == 1);
    CHECK(actors.count(other) == 1);

    // Without a principal (a command-line tool, a job), the actor is "system".
    platform::http::Request anonymous;
    const std::string system_target = "system-" + testing::unique_suffix();
    db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, anonymous, entry(system_target)); });
    bool found = false;
    const auto system_page = get_page(app, admin, "?actor=system&limit=100");
    for (const auto& item : system_page.at("items").as_array()) {
      found = found || item.at("target_id") == system_target.c_str();
    }
    CHECK(found);
  }

  TEST_CASE("audit: the log pages with a cursor, and refuses bad limits and cursors") {
    TestApp app;
    auto& db = app.platform().db();
    const std::string admin = new_user_token(app, "admin");
    const std::string actor = platform::new_uuid_v7();
    const auto rq = admin_request(actor);
    for (int i = 1; i <= 5; ++i) {
      db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, rq, entry("p" + std::to_string(i))); });
    }

    std::string seen;
    std::vector<std::size_t> sizes;
    std::string cursor;
    for (int guard = 0; guard < 10; ++guard) {
      auto page = get_page(app, admin, "?actor=" + actor + "&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
      sizes.push_back(page.at("items").as_array().size());
      seen += (seen.empty() ? "" : ",") + target_ids(page);
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
      // New entries arriving meanwhile do not shift the pages (keyset pagination).
      if (guard == 0) db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, rq, entry("late")); });
    }
    CHECK(sizes == std::vector<std::size_t>{2, 2, 1});
    CHECK(seen == "p5,p4,p3,p2,p1");
    CHECK(target_ids(get_page(app, admin, "?actor=" + actor + "&limit=1")) == "late");
    CHECK(target_ids(get_page(app, admin, "?actor=" + actor + "&limit=100")) == "late,p5,p4,p3,p2,p1");
    CHECK(target_ids(get_page(app, admin, "?actor=" + actor)) == "late,p5,p4,p3,p2,p1");  // default limit 20

    for (const std::string bad : {"limit=0", "limit=101", "limit=abc", "limit=-1", "cursor=not-a-cursor!!",
                                  "cursor=bm90IGEgdXVpZA"}) {  // the last: valid base64url of "not a uuid"
      CAPTURE(bad);
      auto r = app.http().get("/admin/v1/audit?" + bad, admin);
      CHECK(r.status == 422);
      CHECK(r.header("Content-Type") == "application/problem+json");
      CHECK(r.json().at("code") == "validation_failed");
    }
    CHECK(app.http().get("/admin/v1/audit?limit=1", admin).status == 200);
    CHECK(app.http().get("/admin/v1/audit?limit=100", admin).status == 200);

    CHECK(app.http().get("/admin/v1/audit", new_user_token(app, "customer")).status == 403);
    CHECK(app.http().get("/admin/v1/audit").status == 401);
  }

  TEST_CASE("audit: an entry in a rolled-back transaction does not exist") {
    TestApp app;
    auto& db = app.platform().db();
    const std::string admin = new_user_token(app, "admin");
    const std::string actor = platform::new_uuid_v7();
    const auto rq = admin_request(actor);

    CHECK_THROWS_AS(db.transaction_sync([&](Tx& tx) {
      platform::record_audit(tx, rq, entry("rolled-back"));
      throw std::runtime_error("the admin write failed");
    }),
                    std::runtime_error);
    db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, rq, entry("committed")); });

    CHECK(target_ids(get_page(app, admin, "?actor=" + actor)) == "committed");
    long long stored = -1;
    db.run_sync([&](soci::session& s) {
      s << "SELECT count(*) FROM platform.audit_log WHERE actor_id = :a", soci::into(stored), soci::use(actor);
    });
    CHECK(stored == 1);
  }

  TEST_CASE("audit: secret-looking keys in details are redacted") {
    TestApp app;
    auto& db = app.platform().db();
    const std::string admin = new_user_token(app, "admin");
    const std::string actor = platform::new_uuid_v7();
    const json::object details = {
        {"email", "someone@example.com"},
        {"password", "hunter2-secret-value"},
        {"new_Password", "hunter3-secret-value"},
        {"refresh_token", "rt-secret-value"},
        {"webhook", json::object{{"signing_secret", "whsec-secret-value"}, {"url", "https://example.com/hook"}}},
        {"headers", json::array{json::object{{"Authorization", "Bearer abc-secret-value"}, {"Accept", "*/*"}}}},
        {"count", 3},
    };
    db.transaction_sync([&](Tx& tx) { platform::record_audit(tx, admin_request(actor), entry("secretive", details)); });

    auto r = app.http().get("/admin/v1/audit?actor=" + actor, admin);
    REQUIRE(r.status == 200);
    CHECK(r.body.find("secret-value") == std::string::npos);
    const json::value doc = r.json();
    const auto& got = doc.at("items").at(0).at("details").as_object();
    CHECK(got.at("email") == "someone@example.com");
    CHECK(got.at("password") == "[redacted]");
    CHECK(got.at("new_Password") == "[redacted]");
    CHECK(got.at("refresh_token") == "[redacted]");
    CHECK(got.at("webhook").at("signing_secret") == "[redacted]");
    CHECK(got.at("webhook").at("url") == "https://example.com/hook");
    CHECK(got.at("headers").at(0).at("Authorization") == "[redacted]");
    CHECK(got.at("headers").at(0).at("Accept") == "*/*");
    CHECK(got.at("count") == 3);

    std::string raw;  // nor in the table itself
    db.run_sync([&](soci::session& s) {
      s << "SELECT details::text FROM platform.audit_log WHERE actor_id = :a", soci::into(raw), soci::use(actor);
    });
    CHECK(raw.find("secret-value") == std::string::npos);
  }

  TEST_CASE("audit: an admin write over HTTP records the admin, the action and the request id") {
    TestApp app;
    auto& p = app.platform();
    const std::string admin_id = platform::new_uuid_v7();
    const std::string admin = new_user_token(app, "admin", admin_id);
    const auto event = platform::make_event_raw("test.audited-" + testing::unique_suffix(), 1, "agg", json::object{});
    p.db().transaction_sync([&](Tx& tx) { tx.publish(event); });

    auto retry = app.http().post_json("/admin/v1/events/" + event.id + "/retry", json::object{}, admin);
    REQUIRE(retry.status == 200);
    auto page = get_page(app, admin, "?actor=" + admin_id);
    REQUIRE(page.at("items").as_array().size() == 1);
    const auto& item = page.at("items").at(0).as_object();
    CHECK(item.at("action") == "platform.event.retry");
    CHECK(item.at("target_type") == "event");
    CHECK(item.at("target_id") == event.id.c_str());
    CHECK(item.at("request_id") == retry.header("X-Request-Id").value().c_str());

    // A refused write leaves no entry.
    CHECK(app.http().post_json("/admin/v1/events/" + platform::new_uuid_v7() + "/retry", json::object{}, admin).status ==
          404);
    CHECK(get_page(app, admin, "?actor=" + admin_id).at("items").as_array().size() == 1);
    p.drain_events();  // leave nothing pending behind
  }
}
