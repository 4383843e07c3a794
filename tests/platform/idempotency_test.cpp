// Idempotency-Key over HTTP against the real PostgreSQL (API.md "Conventions"): replay, a reused key with a
// different body, a concurrent duplicate, keys released by failed requests, scoping per caller, key syntax,
// GET untouched, the take-over of a key whose first request died, and a response that the handler stores
// with its own last write (platform/idempotency.hpp).
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/error.hpp>
#include <platform/http.hpp>
#include <platform/idempotency.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>
#include <platform/pq.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace bazaar;
using platform::Error;
using platform::http::Access;
using platform::http::Reply;
using platform::http::Request;
using testing::HttpResponse;
using testing::TestApp;
namespace json = boost::json;

using Headers = std::vector<std::pair<std::string, std::string>>;

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

void ensure_rows_table(platform::Database& db) {
  db.run_sync([](soci::session& s) {
    s << "SET client_min_messages TO warning";
    s << "CREATE SCHEMA IF NOT EXISTS test_effects";
    s << "CREATE TABLE IF NOT EXISTS test_effects.idem_rows (tag text NOT NULL, id text NOT NULL)";
  });
}

long long rows(platform::Database& db, const std::string& tag) {
  long long n = 0;
  db.run_sync([&](soci::session& s) {
    s << "SELECT count(*) FROM test_effects.idem_rows WHERE tag = :t", soci::into(n), soci::use(tag);
  });
  return n;
}

// A creating handler: one row per execution, 201 with a fresh id; 422 when the body says "invalid": true.
platform::http::Handler creating_handler(platform::Database& db, std::string tag) {
  return [&db, tag = std::move(tag)](Request& rq) -> boost::asio::awaitable<Reply> {
    auto body = platform::http::parse_json_body(rq);
    if (!body) co_return platform::http::problem(body.error(), rq);
    if (const auto* invalid = body->if_contains("invalid"); invalid && *invalid == true) {
      co_return platform::http::problem(Error::validation("invalid", "must not be true"), rq);
    }
    const std::string id = platform::new_uuid_v7();
    co_await db.run([&](soci::session& s) {
      s << "INSERT INTO test_effects.idem_rows (tag, id) VALUES (:t, :id)", soci::use(tag), soci::use(id);
    });
    co_return platform::http::json_reply(201, json::object{{"id", id}, {"caller", std::string(rq.user_id())}});
  };
}

// A creating handler that stores its response with its own write, in one batch (platform/idempotency.hpp),
// then does what the body's "then" says: "return" the reply it stored, return "another" 201, "fail" with a
// 503, or "throw". With "then": "break", the batch itself fails after the store.
platform::http::Handler storing_handler(platform::Database& db, std::string tag) {
  return [&db, tag = std::move(tag)](Request& rq) -> boost::asio::awaitable<Reply> {
    auto body = platform::http::parse_json_body(rq);
    if (!body) co_return platform::http::problem(body.error(), rq);
    const auto* then_value = body->if_contains("then");
    const std::string then = then_value ? std::string(then_value->as_string()) : "return";
    const std::string id = platform::new_uuid_v7();
    const Reply reply = platform::http::json_reply(201, json::object{{"id", id}});
    platform::pq::Pipeline batch;
    platform::pq::Params row;
    row.add(tag);
    row.add(id);
    batch.add("INSERT INTO test_effects.idem_rows (tag, id) VALUES ($1, $2)", std::move(row));
    platform::http::store_response(rq, reply, batch);
    if (then == "break") batch.add("SELECT platform.expect(false, 'the batch breaks after the store')");
    co_await platform::pq::run(db, std::move(batch));
    if (then == "another") co_return platform::http::json_reply(201, json::object{{"id", id}, {"another", true}});
    if (then == "fail") co_return platform::http::problem(Error::unavailable("Try again.", 1), rq);
    if (then == "throw") throw std::runtime_error("a bug after the last write");
    co_return reply;
  };
}

// The application with POST /test/idem-<u> (creating_handler) and the given extra routes.
struct IdemApp {
  std::string u = testing::unique_suffix();
  std::string path = "/test/idem-" + u;
  TestApp app;

  explicit IdemApp(const std::function<void(platform::Platform&, const std::string& u)>& extra = {},
                   platform::Config config = testing::test_config())
      : app(std::move(config), [this, &extra](app::Application& a) {
          a.platform->router().post(path, Access::public_route, creating_handler(a.platform->db(), u));
          if (extra) extra(*a.platform, u);
        }) {
    ensure_rows_table(db());
  }
  platform::Database& db() { return app.platform().db(); }
  HttpResponse post(const std::string& target, const json::value& body, const std::string& key,
                    const std::string& bearer = {}) {
    return app.http().post_json(target, body, bearer, Headers{{"Idempotency-Key", key}});
  }
};

std::string code_of(const HttpResponse& r) {
  auto doc = r.json().as_object();
  return doc.contains("code") ? std::string(doc.at("code").as_string()) : std::string();
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("idempotency: the same key and body replay the first response and run the handler once") {
    IdemApp t;
    const std::string key = "key-" + t.u;
    const std::string token = new_user_token(t.app);
    const json::object body{{"name", "widget"}, {"quantity", 2}};

    auto first = t.post(t.path, body, key, token);
    REQUIRE(first.status == 201);
    CHECK_FALSE(first.header("Idempotent-Replayed").has_value());
    auto second = t.post(t.path, body, key, token);
    CHECK(second.status == 201);
    CHECK(second.body == first.body);
    CHECK(second.header("Idempotent-Replayed") == "true");
    CHECK(second.header("Content-Type") == first.header("Content-Type"));
    CHECK(second.header("X-Request-Id").has_value());
    CHECK(rows(t.db(), t.u) == 1);

    // Without a key every POST runs.
    CHECK(t.app.http().post_json(t.path, body, token).status == 201);
    CHECK(t.app.http().post_json(t.path, body, token).status == 201);
    CHECK(rows(t.db(), t.u) == 3);
  }

  TEST_CASE("idempotency: the same key with a different body is refused with idempotency_key_reused") {
    IdemApp t;
    const std::string key = "key-" + t.u;
    const std::string token = new_user_token(t.app);
    REQUIRE(t.post(t.path, json::object{{"name", "a"}}, key, token).status == 201);
    auto reused = t.post(t.path, json::object{{"name", "b"}}, key, token);
    CHECK(reused.status == 422);
    CHECK(reused.header("Content-Type") == "application/problem+json");
    CHECK(code_of(reused) == "idempotency_key_reused");
    CHECK(rows(t.db(), t.u) == 1);
    // The key still replays its own request.
    CHECK(t.post(t.path, json::object{{"name", "a"}}, key, token).header("Idempotent-Replayed") == "true");
  }

  TEST_CASE("idempotency: a duplicate sent while the first request is in flight is refused with 409") {
    std::promise<void> entered;
    std::atomic<bool> entered_once{false};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> released_once{false};
    auto do_release = [&] {
      if (!released_once.exchange(true)) release.set_value();
    };
    IdemApp t([&](platform::Platform& p, const std::string& u) {
      p.router().post("/test/idem-slow-" + u, Access::public_route,
                      [&p, &entered, &entered_once, released, u](Request& rq) -> boost::asio::awaitable<Reply> {
                        if (!entered_once.exchange(true)) entered.set_value();
                        co_await p.db().run([&](soci::session& s) {
                          released.wait_for(std::chrono::seconds(10));  // a long-running request
                          s << "INSERT INTO test_effects.idem_rows (tag, id) VALUES (:t, :id)", soci::use(u),
                              soci::use(rq.request_id);
                        });
                        co_return platform::http::json_reply(201, json::object{{"request_id", rq.request_id}});
                      });
    });
    const std::string slow = "/test/idem-slow-" + t.u;
    const std::string key = "key-" + t.u;
    const std::string token = new_user_token(t.app);
    const json::object body{{"pay", 100}};

    auto first = std::async(std::launch::async, [&] { return t.post(slow, body, key, token); });
    struct Guard {  // never leave the first request hanging, even when a REQUIRE below fails
      std::function<void()> fn;
      ~Guard() { fn(); }
    } guard{do_release};
    REQUIRE(entered.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);

    auto duplicate = t.post(slow, body, key, token);
    CHECK(duplicate.status == 409);
    CHECK(code_of(duplicate) == "idempotency_key_in_progress");
    auto other_body = t.post(slow, json::object{{"pay", 200}}, key, token);
    CHECK(other_body.status == 422);
    CHECK(code_of(other_body) == "idempotency_key_reused");

    do_release();
    auto r1 = first.get();
    REQUIRE(r1.status == 201);
    auto replay = t.post(slow, body, key, token);
    CHECK(replay.status == 201);
    CHECK(replay.body == r1.body);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(rows(t.db(), t.u) == 1);
  }

  TEST_CASE("idempotency: a request that fails validation or on the server does not use up its key") {
    std::atomic<int> flaky_calls{0};
    IdemApp t([&](platform::Platform& p, const std::string& u) {
      p.router().post("/test/idem-flaky-" + u, Access::public_route,
                      [&flaky_calls](Request&) -> boost::asio::awaitable<Reply> {
                        if (++flaky_calls == 1) throw std::runtime_error("a bug on the first call");
                        co_return platform::http::json_reply(201, json::object{{"call", flaky_calls.load()}});
                      });
    });
    const std::string token = new_user_token(t.app);
    const std::string key = "key-" + t.u;

    auto invalid = t.post(t.path, json::object{{"invalid", true}}, key, token);
    CHECK(invalid.status == 422);
    CHECK(code_of(invalid) == "validation_failed");
    CHECK(rows(t.db(), t.u) == 0);
    auto corrected = t.post(t.path, json::object{{"invalid", false}}, key, token);
    CHECK(corrected.status == 201);  // not idempotency_key_reused: the 422 released the key
    CHECK_FALSE(corrected.header("Idempotent-Replayed").has_value());
    CHECK(rows(t.db(), t.u) == 1);
    auto replay = t.post(t.path, json::object{{"invalid", false}}, key, token);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.body == corrected.body);

    const std::string flaky = "/test/idem-flaky-" + t.u, flaky_key = "flaky-" + t.u;
    CHECK(t.post(flaky, json::object{}, flaky_key, token).status == 500);
    auto retried = t.post(flaky, json::object{}, flaky_key, token);
    CHECK(retried.status == 201);
    CHECK_FALSE(retried.header("Idempotent-Replayed").has_value());
    CHECK(flaky_calls == 2);
  }

  TEST_CASE("idempotency: keys are scoped per caller") {
    IdemApp t;
    const std::string key = "shared-" + t.u;
    const std::string alice = platform::new_uuid_v7(), bob = platform::new_uuid_v7();
    const std::string alice_token = new_user_token(t.app, "customer", alice),
                      bob_token = new_user_token(t.app, "customer", bob);
    const json::object body{{"name", "same"}};

    auto a = t.post(t.path, body, key, alice_token);
    auto b = t.post(t.path, body, key, bob_token);
    auto anon = t.post(t.path, body, key);
    REQUIRE(a.status == 201);
    REQUIRE(b.status == 201);
    REQUIRE(anon.status == 201);
    CHECK_FALSE(b.header("Idempotent-Replayed").has_value());
    CHECK_FALSE(anon.header("Idempotent-Replayed").has_value());
    CHECK(a.json().at("caller") == alice.c_str());
    CHECK(b.json().at("caller") == bob.c_str());
    CHECK(a.json().at("id") != b.json().at("id"));
    CHECK(rows(t.db(), t.u) == 3);

    auto a_again = t.post(t.path, body, key, alice_token);
    CHECK(a_again.header("Idempotent-Replayed") == "true");
    CHECK(a_again.body == a.body);
    auto anon_again = t.post(t.path, body, key);
    CHECK(anon_again.header("Idempotent-Replayed") == "true");
    CHECK(anon_again.body == anon.body);
    CHECK(rows(t.db(), t.u) == 3);
  }

  TEST_CASE("idempotency: an invalid key is refused with 422 and runs nothing") {
    IdemApp t;
    const std::string token = new_user_token(t.app);
    const json::object body{{"name", "x"}};
    const std::vector<std::string> invalid_keys = {std::string(256, 'k'), "tab\there-" + t.u,
                                                   "caf\xc3\xa9-" + t.u, ""};
    for (const auto& key : invalid_keys) {
      CAPTURE(key);
      auto r = t.post(t.path, body, key, token);
      CHECK(r.status == 422);
      CHECK(code_of(r) == "validation_failed");
      CHECK(r.body.find("Idempotency-Key") != std::string::npos);
    }
    CHECK(rows(t.db(), t.u) == 0);

    std::string longest = t.u + std::string(255 - t.u.size(), '~');
    REQUIRE(longest.size() == 255);
    CHECK(t.post(t.path, body, longest, token).status == 201);
    CHECK(t.post(t.path, body, longest, token).header("Idempotent-Replayed") == "true");
    CHECK(rows(t.db(), t.u) == 1);
  }

  TEST_CASE("idempotency: GET requests ignore the header") {
    std::atomic<int> calls{0};
    IdemApp t([&](platform::Platform& p, const std::string& u) {
      p.router().get("/test/idem-get-" + u, Access::public_route, [&calls](Request&) -> boost::asio::awaitable<Reply> {
        co_return platform::http::json_reply(200, json::object{{"call", ++calls}});
      });
    });
    const std::string target = "/test/idem-get-" + t.u;
    const Headers headers{{"Idempotency-Key", "get-" + t.u}};
    auto r1 = t.app.http().send(testing::HttpRequest{"GET", target, {}, headers, {}});
    auto r2 = t.app.http().send(testing::HttpRequest{"GET", target, {}, headers, {}});
    CHECK(r1.status == 200);
    CHECK(r2.status == 200);
    CHECK(r1.json().at("call") == 1);
    CHECK(r2.json().at("call") == 2);
    CHECK_FALSE(r2.header("Idempotent-Replayed").has_value());
    // An invalid key on a GET is ignored too, not refused.
    auto r3 = t.app.http().send(testing::HttpRequest{"GET", target, {}, {{"Idempotency-Key", std::string(300, 'k')}}, {}});
    CHECK(r3.status == 200);
    long long stored = -1;
    t.db().run_sync([&](soci::session& s) {
      s << "SELECT count(*) FROM platform.idempotency_keys WHERE key = :k", soci::into(stored),
          soci::use(headers[0].second);
    });
    CHECK(stored == 0);
  }

  TEST_CASE("idempotency: a key stuck in progress past its lock is taken over") {
    IdemApp t;
    const std::string user = platform::new_uuid_v7();
    const std::string token = new_user_token(t.app, "customer", user);
    const std::string key = "stuck-" + t.u;
    const json::object body{{"name", "stuck"}};
    REQUIRE(t.post(t.path, body, key, token).status == 201);

    // As if the first request's process had died mid-way: in progress, nothing stored.
    auto set_in_progress = [&](const std::string& lock) {
      const std::string scope = "user:" + user;
      long long updated = 0;
      t.db().run_sync([&](soci::session& s) {
        soci::statement st = (s.prepare << R"sql(
            UPDATE platform.idempotency_keys SET status = 'in_progress', response_status = NULL,
                   response_body = NULL, response_type = NULL, locked_until = now() + CAST(:lock AS interval)
            WHERE scope = :scope AND key = :key)sql",
                              soci::use(lock), soci::use(scope), soci::use(key));
        st.execute(true);
        updated = st.get_affected_rows();
      });
      REQUIRE(updated == 1);
    };
    set_in_progress("60 seconds");
    auto locked = t.post(t.path, body, key, token);
    CHECK(locked.status == 409);
    CHECK(code_of(locked) == "idempotency_key_in_progress");
    CHECK(rows(t.db(), t.u) == 1);

    set_in_progress("-1 seconds");
    auto taken = t.post(t.path, body, key, token);
    CHECK(taken.status == 201);
    CHECK_FALSE(taken.header("Idempotent-Replayed").has_value());
    CHECK(rows(t.db(), t.u) == 2);
    auto replay = t.post(t.path, body, key, token);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.body == taken.body);
    CHECK(rows(t.db(), t.u) == 2);
  }
}

namespace {

// The state and response stored under a key ("" when none), read directly.
std::string stored_under(platform::Database& db, const std::string& key) {
  std::string out;
  db.run_sync([&](soci::session& s) {
    s << "SELECT status || ' ' || coalesce(response_status::text, '-') || ' ' || coalesce(response_body, '') "
         "FROM platform.idempotency_keys WHERE key = :k",
        soci::into(out), soci::use(key);
    if (!s.got_data()) out.clear();
  });
  return out;
}

// IdemApp with POST /test/idem-stored-<u> (storing_handler).
IdemApp storing_app(platform::Config config = testing::test_config()) {
  return IdemApp(
      [](platform::Platform& p, const std::string& u) {
        p.router().post("/test/idem-stored-" + u, Access::public_route, storing_handler(p.db(), u));
      },
      std::move(config));
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("idempotency: a response stored with the handler's last write is replayed as sent") {
    auto config = testing::test_config();
    SUBCASE("on the I/O threads' connections") {}
    SUBCASE("on the worker pool") { config.set("database.async_connections", 0); }
    IdemApp t = storing_app(config);
    const std::string target = "/test/idem-stored-" + t.u, key = "stored-" + t.u;
    const json::object body{{"then", "return"}};

    auto first = t.post(target, body, key);
    REQUIRE(first.status == 201);
    CHECK(stored_under(t.db(), key) == "done 201 " + first.body);
    auto replay = t.post(target, body, key);
    CHECK(replay.status == 201);
    CHECK(replay.body == first.body);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.header("Content-Type") == first.header("Content-Type"));
    auto reused = t.post(target, json::object{{"then", "another"}}, key);
    CHECK(reused.status == 422);
    CHECK(code_of(reused) == "idempotency_key_reused");
    CHECK(rows(t.db(), t.u) == 1);
  }

  TEST_CASE("idempotency: a handler that returns another reply than it stored gets that reply stored") {
    IdemApp t = storing_app();
    const std::string target = "/test/idem-stored-" + t.u, key = "another-" + t.u;
    const json::object body{{"then", "another"}};
    auto first = t.post(target, body, key);
    REQUIRE(first.status == 201);
    CHECK(first.json().at("another") == true);
    auto replay = t.post(target, body, key);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.body == first.body);
    CHECK(rows(t.db(), t.u) == 1);
  }

  TEST_CASE("idempotency: a key stays free when the handler fails after storing, or its batch fails") {
    IdemApp t = storing_app();
    const std::string target = "/test/idem-stored-" + t.u;
    for (const std::string then : {"fail", "throw", "break"}) {
      CAPTURE(then);
      const std::string key = then + "-" + t.u;
      const auto failed = t.post(target, json::object{{"then", then}}, key);
      CHECK(failed.status >= 500);
      CHECK(stored_under(t.db(), key).empty());
      // The client may retry with the key, even with a corrected request.
      const auto retried = t.post(target, json::object{{"then", "return"}}, key);
      CHECK(retried.status == 201);
      CHECK_FALSE(retried.header("Idempotent-Replayed").has_value());
      CHECK(stored_under(t.db(), key) == "done 201 " + retried.body);
    }
    // The three retries, and what "fail" and "throw" committed before failing; "break" rolled back.
    CHECK(rows(t.db(), t.u) == 5);
  }

  TEST_CASE("idempotency: without a key, a handler's store_response adds nothing to its batch") {
    IdemApp t = storing_app();
    const std::string target = "/test/idem-stored-" + t.u;
    auto r = t.app.http().post_json(target, json::object{{"then", "return"}});
    CHECK(r.status == 201);
    CHECK(rows(t.db(), t.u) == 1);
  }
}
