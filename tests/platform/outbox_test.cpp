// The outbox and its dispatcher against the real PostgreSQL: publishing inside the publisher's transaction,
// at-least-once delivery with inbox deduplication (exactly one effect per subscriber), retries, dead letters
// and their admin view, leases, crash recovery and the in-process wake-up.
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/events.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <sys/select.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace bazaar;
using platform::Event;
using platform::Tx;
using testing::TestApp;

// Every effect a test subscriber has, written in the handler's own transaction: a handler whose
// transaction rolls back leaves no row, so counting rows counts effects.
void ensure_effects_table(platform::Database& db) {
  db.run_sync([](soci::session& s) {
    s << "SET client_min_messages TO warning";
    s << "CREATE SCHEMA IF NOT EXISTS test_effects";
    s << R"sql(CREATE TABLE IF NOT EXISTS test_effects.outbox_effects (
                 subscriber text NOT NULL,
                 event_id   text NOT NULL,
                 note       text NOT NULL DEFAULT ''))sql";
  });
}

void write_effect(Tx& tx, const std::string& subscriber, const Event& e) {
  tx.sql() << "INSERT INTO test_effects.outbox_effects (subscriber, event_id) VALUES (:s, :e)", soci::use(subscriber),
      soci::use(e.id);
}

long long effects(platform::Database& db, const std::string& subscriber, const std::string& event_id) {
  long long n = 0;
  db.run_sync([&](soci::session& s) {
    s << "SELECT count(*) FROM test_effects.outbox_effects WHERE subscriber = :s AND event_id = :e", soci::into(n),
        soci::use(subscriber), soci::use(event_id);
  });
  return n;
}

struct OutboxRow {
  std::string status;
  int attempts = 0;
};

std::optional<OutboxRow> outbox_row(platform::Database& db, const std::string& id) {
  std::optional<OutboxRow> out;
  db.run_sync([&](soci::session& s) {
    OutboxRow row;
    s << "SELECT status, attempts FROM platform.outbox WHERE id = CAST(:id AS uuid)", soci::into(row.status),
        soci::into(row.attempts), soci::use(id);
    if (s.got_data()) out = row;
  });
  return out;
}

void exec(platform::Database& db, const std::string& sql, const std::string& id) {
  db.run_sync([&](soci::session& s) { s << sql, soci::use(id); });
}

Event publish(platform::Platform& p, const std::string& type, boost::json::value payload = boost::json::object{}) {
  Event e = platform::make_event_raw(type, 1, "agg-" + testing::unique_suffix(), std::move(payload));
  p.db().transaction_sync([&](Tx& tx) { tx.publish(e); });
  return e;
}

platform::Config config_with(int max_attempts) {
  auto c = testing::test_config();
  c.set("events.max_attempts", max_attempts);
  return c;
}

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

// Every event of one status from the admin API, following next_cursor to the end.
std::vector<std::string> admin_event_ids(TestApp& app, const std::string& admin, const std::string& status) {
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = app.http().get("/admin/v1/events?status=" + status + "&limit=100" +
                                (cursor.empty() ? "" : "&cursor=" + cursor),
                            admin);
    REQUIRE(r.status == 200);
    auto doc = r.json().as_object();
    for (const auto& item : doc.at("items").as_array()) ids.emplace_back(item.at("id").as_string());
    if (doc.at("next_cursor").is_null()) return ids;
    cursor = std::string(doc.at("next_cursor").as_string());
  }
  FAIL("the admin event list did not end");
  return ids;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("outbox: an event published in a committed transaction reaches each subscriber exactly once") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub_a = "test.sub-a-" + u, sub_b = "test.sub-b-" + u;
    std::atomic<int> calls_a{0}, calls_b{0};
    TestApp app(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe(sub_a, type, [&](Tx& tx, const Event& e) {
        ++calls_a;
        write_effect(tx, sub_a, e);
      });
      a.platform->events().subscribe(sub_b, type, [&](Tx& tx, const Event& e) {
        ++calls_b;
        write_effect(tx, sub_b, e);
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const Event e = publish(p, type);

    CHECK(p.drain_events() >= 1);
    CHECK(calls_a == 1);
    CHECK(calls_b == 1);
    CHECK(effects(p.db(), sub_a, e.id) == 1);
    CHECK(effects(p.db(), sub_b, e.id) == 1);
    CHECK(outbox_row(p.db(), e.id)->status == "delivered");

    p.drain_events();  // nothing is due any more: no second delivery
    CHECK(calls_a == 1);
    CHECK(calls_b == 1);
  }

  TEST_CASE("outbox: a rolled-back transaction leaves no event and no delivery") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    std::atomic<int> calls{0};
    TestApp app(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe("test.sub-" + u, type, [&](Tx&, const Event&) { ++calls; });
    });
    auto& p = app.platform();
    const Event e = platform::make_event_raw(type, 1, "agg", boost::json::object{{"n", 1}});
    CHECK_THROWS_WITH_AS(p.db().transaction_sync([&](Tx& tx) {
      tx.publish(e);
      throw std::runtime_error("the publisher's state change failed");
    }),
                         "the publisher's state change failed", std::runtime_error);
    CHECK_FALSE(outbox_row(p.db(), e.id).has_value());
    p.drain_events();
    CHECK(calls == 0);
  }

  TEST_CASE("outbox: a handler that fails twice and then succeeds has exactly one effect") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    TestApp app(config_with(5), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        write_effect(tx, sub, e);  // written before the failure: the rollback must undo it
        if (++calls <= 2) throw std::runtime_error("transient failure");
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const Event e = publish(p, type);

    p.drain_events();  // backoff_base_ms = 0 in tests: each retry is due at once
    CHECK(calls == 3);
    CHECK(effects(p.db(), sub, e.id) == 1);
    auto row = outbox_row(p.db(), e.id);
    REQUIRE(row);
    CHECK(row->status == "delivered");
    CHECK(row->attempts == 3);
    std::string delivery;
    p.db().run_sync([&](soci::session& s) {
      s << "SELECT status FROM platform.deliveries WHERE event_id = CAST(:e AS uuid) AND subscriber = :s",
          soci::into(delivery), soci::use(e.id), soci::use(sub);
    });
    CHECK(delivery == "done");
  }

  TEST_CASE("outbox: due events go out together in one transaction; a failing handler sends them one by one") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::mutex mutex;
    std::map<std::string, int> calls;  // by event id
    TestApp app(config_with(3), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        {
          std::lock_guard lock(mutex);
          ++calls[e.id];
        }
        write_effect(tx, sub, e);
        if (e.payload.as_object().contains("poison")) throw std::runtime_error("poisoned event");
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    auto inbox_transactions = [&] {  // now() is the transaction's start: one value per transaction
      long long n = 0;
      p.db().run_sync([&](soci::session& s) {
        s << "SELECT count(DISTINCT processed_at) FROM platform.inbox WHERE subscriber = :s", soci::use(sub), soci::into(n);
      });
      return n;
    };

    SUBCASE("healthy events: one transaction for all of them") {
      const Event a = publish(p, type), b = publish(p, type), c = publish(p, type);
      p.drain_events();
      for (const auto* e : {&a, &b, &c}) {
        CHECK(calls[e->id] == 1);
        CHECK(effects(p.db(), sub, e->id) == 1);
        CHECK(outbox_row(p.db(), e->id)->status == "delivered");
        CHECK(outbox_row(p.db(), e->id)->attempts == 1);
      }
      CHECK(inbox_transactions() == 1);
    }
    SUBCASE("a poisoned event: the others are delivered once, it alone is retried until dead") {
      const Event a = publish(p, type);
      const Event poison = publish(p, type, boost::json::object{{"poison", true}});
      const Event b = publish(p, type);
      p.drain_events();
      CHECK(calls[a.id] == 2);  // in the batch that the poison rolled back, then alone
      CHECK(calls[b.id] == 1);  // after the poison: only alone
      for (const auto* e : {&a, &b}) {
        CHECK(effects(p.db(), sub, e->id) == 1);
        CHECK(outbox_row(p.db(), e->id)->status == "delivered");
      }
      CHECK(calls[poison.id] == 4);  // the rolled-back batch, then its 3 attempts
      CHECK(effects(p.db(), sub, poison.id) == 0);
      CHECK(outbox_row(p.db(), poison.id)->status == "dead");
      CHECK(outbox_row(p.db(), poison.id)->attempts == 3);
    }
  }

  TEST_CASE("outbox: redelivering an already handled event does not repeat its effect") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    TestApp app(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        ++calls;
        write_effect(tx, sub, e);
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const Event e = publish(p, type);
    p.drain_events();
    REQUIRE(effects(p.db(), sub, e.id) == 1);

    // As if the dispatcher had crashed after the handler committed but before marking the event delivered.
    exec(p.db(), R"sql(UPDATE platform.outbox SET status = 'pending', locked_until = NULL, next_attempt_at = now(),
                         delivered_at = NULL WHERE id = CAST(:id AS uuid))sql",
         e.id);
    CHECK(p.drain_events() >= 1);
    CHECK(calls == 1);
    CHECK(effects(p.db(), sub, e.id) == 1);
    CHECK(outbox_row(p.db(), e.id)->status == "delivered");
  }

  TEST_CASE("outbox: a failed delivery waits for its backoff and is listed as failed meanwhile") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    auto config = config_with(5);
    config.set("events.backoff_base_ms", 60000);
    TestApp app(config, [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        write_effect(tx, sub, e);
        if (++calls == 1) throw std::runtime_error("first attempt fails");
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const std::string admin = new_user_token(app, "admin");
    const Event e = publish(p, type);

    p.drain_events();
    CHECK(calls == 1);  // the retry is a minute away: not redelivered by the same drain
    auto row = outbox_row(p.db(), e.id);
    REQUIRE(row);
    CHECK(row->status == "pending");
    CHECK(row->attempts == 1);
    CHECK(contains(admin_event_ids(app, admin, "failed"), e.id));
    CHECK(contains(admin_event_ids(app, admin, "pending"), e.id));
    CHECK_FALSE(contains(admin_event_ids(app, admin, "dead"), e.id));

    exec(p.db(), "UPDATE platform.outbox SET next_attempt_at = now() WHERE id = CAST(:id AS uuid)", e.id);
    p.drain_events();
    CHECK(calls == 2);
    CHECK(effects(p.db(), sub, e.id) == 1);
    CHECK(outbox_row(p.db(), e.id)->status == "delivered");
    CHECK_FALSE(contains(admin_event_ids(app, admin, "failed"), e.id));
  }

  TEST_CASE("outbox: a handler that always fails ends dead, is listed, and an admin retry delivers it once fixed") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    std::atomic<bool> fixed{false};
    TestApp app(config_with(3), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        ++calls;
        write_effect(tx, sub, e);
        if (!fixed) throw std::runtime_error("handler is broken");
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const std::string admin = new_user_token(app, "admin");
    const Event e = publish(p, type);

    p.drain_events();
    CHECK(calls == 3);  // events.max_attempts
    auto row = outbox_row(p.db(), e.id);
    REQUIRE(row);
    CHECK(row->status == "dead");
    CHECK(row->attempts == 3);
    CHECK(effects(p.db(), sub, e.id) == 0);
    std::string delivery, last_error;
    p.db().run_sync([&](soci::session& s) {
      s << R"sql(SELECT d.status, o.last_error FROM platform.deliveries d JOIN platform.outbox o ON o.id = d.event_id
                 WHERE d.event_id = CAST(:e AS uuid) AND d.subscriber = :s)sql",
          soci::into(delivery), soci::into(last_error), soci::use(e.id), soci::use(sub);
    });
    CHECK(delivery == "dead");
    CHECK(last_error.find("handler is broken") != std::string::npos);
    p.drain_events();  // dead events are not claimed again
    CHECK(calls == 3);

    CHECK(contains(admin_event_ids(app, admin, "dead"), e.id));
    CHECK_FALSE(contains(admin_event_ids(app, admin, "pending"), e.id));

    // Not for customers, not for strangers.
    const std::string customer = new_user_token(app, "customer");
    CHECK(app.http().get("/admin/v1/events?status=dead", customer).status == 403);
    CHECK(app.http().get("/admin/v1/events?status=dead").status == 401);
    CHECK(app.http().post_json("/admin/v1/events/" + e.id + "/retry", boost::json::object{}, customer).status == 403);
    CHECK(app.http().get("/admin/v1/events?status=nonsense", admin).status == 422);

    auto retry = app.http().post_json("/admin/v1/events/" + e.id + "/retry", boost::json::object{}, admin);
    REQUIRE(retry.status == 200);
    CHECK(retry.json().at("id") == e.id.c_str());
    CHECK(retry.json().at("status") == "pending");
    row = outbox_row(p.db(), e.id);
    CHECK(row->status == "pending");
    CHECK(row->attempts == 0);
    CHECK_FALSE(contains(admin_event_ids(app, admin, "dead"), e.id));
    CHECK(contains(admin_event_ids(app, admin, "pending"), e.id));

    fixed = true;
    p.drain_events();
    CHECK(calls == 4);
    CHECK(effects(p.db(), sub, e.id) == 1);
    CHECK(outbox_row(p.db(), e.id)->status == "delivered");
    p.db().run_sync([&](soci::session& s) {
      s << "SELECT status FROM platform.deliveries WHERE event_id = CAST(:e AS uuid) AND subscriber = :s",
          soci::into(delivery), soci::use(e.id), soci::use(sub);
    });
    CHECK(delivery == "done");
    CHECK_FALSE(contains(admin_event_ids(app, admin, "dead"), e.id));
    CHECK_FALSE(contains(admin_event_ids(app, admin, "pending"), e.id));

    auto again = app.http().post_json("/admin/v1/events/" + e.id + "/retry", boost::json::object{}, admin);
    CHECK(again.status == 409);
    CHECK(again.json().at("code") == "invalid_transition");
    auto unknown = app.http().post_json("/admin/v1/events/" + platform::new_uuid_v7() + "/retry",
                                        boost::json::object{}, admin);
    CHECK(unknown.status == 404);
    CHECK(app.http().post_json("/admin/v1/events/not-a-uuid/retry", boost::json::object{}, admin).status == 404);
  }

  TEST_CASE("outbox: while one instance delivers a batch, no other takes its events; a failed batch leaves no lease") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls_first{0}, calls_second{0};
    std::promise<void> entered, release;
    auto released = release.get_future().share();
    TestApp first(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        if (++calls_first == 1) {
          entered.set_value();
          released.wait();  // inside the batch's transaction, its claim's row locks held
        }
        write_effect(tx, sub, e);
      });
    });
    TestApp second(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        ++calls_second;
        write_effect(tx, sub, e);
      });
    });
    ensure_effects_table(first.platform().db());
    const Event e = publish(first.platform(), type);

    std::thread delivering([&] { first.platform().drain_events(); });
    entered.get_future().wait();
    second.platform().drain_events();  // skips the locked event, and does not wait for it
    CHECK(calls_second == 0);
    release.set_value();
    delivering.join();
    CHECK(calls_first == 1);
    CHECK(effects(first.platform().db(), sub, e.id) == 1);
    CHECK(outbox_row(first.platform().db(), e.id)->status == "delivered");

    // A batch whose handlers fail as a whole rolls its claim back: no lease, the events are due again at once
    // and go one by one (two events, so that the failure cannot be pinned on one).
    const std::string failing = "test.failing-" + u;
    std::atomic<int> failing_calls{0};
    TestApp third(config_with(5), [&](app::Application& a) {
      a.platform->events().subscribe(sub, failing, [&](Tx& tx, const Event& e) {
        write_effect(tx, sub, e);
        if (++failing_calls == 2) throw std::runtime_error("the batch's second handler fails");
      });
    });
    const Event f1 = publish(third.platform(), failing);
    const Event f2 = publish(third.platform(), failing);
    third.platform().drain_events();
    // The batch (2 calls, rolled back), then one by one: both delivered, each effect once.
    CHECK(failing_calls == 4);
    CHECK(effects(third.platform().db(), sub, f1.id) == 1);
    CHECK(effects(third.platform().db(), sub, f2.id) == 1);
    CHECK(outbox_row(third.platform().db(), f1.id)->status == "delivered");
    CHECK(outbox_row(third.platform().db(), f2.id)->status == "delivered");
  }

  TEST_CASE("outbox: a crash between commit and delivery loses nothing") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    auto subscribe = [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        ++calls;
        write_effect(tx, sub, e);
      });
    };
    Event e;
    {
      TestApp first(testing::test_config(), subscribe);
      ensure_effects_table(first.platform().db());
      e = publish(first.platform(), type);
    }  // gone before its dispatcher ran
    CHECK(calls == 0);

    TestApp second(testing::test_config(), subscribe);
    REQUIRE(outbox_row(second.platform().db(), e.id)->status == "pending");
    second.platform().drain_events();
    CHECK(calls == 1);
    CHECK(effects(second.platform().db(), sub, e.id) == 1);
    CHECK(outbox_row(second.platform().db(), e.id)->status == "delivered");
  }

  TEST_CASE("outbox: an event claimed by another instance waits for its lease, and an expired lease is reclaimed") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    std::atomic<int> calls{0};
    TestApp app(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) {
        ++calls;
        write_effect(tx, sub, e);
      });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());
    const Event e = publish(p, type);

    // Another instance claimed it (a live lease) and then died.
    exec(p.db(), "UPDATE platform.outbox SET locked_until = now() + interval '60 seconds' WHERE id = CAST(:id AS uuid)",
         e.id);
    p.drain_events();
    CHECK(calls == 0);
    CHECK(outbox_row(p.db(), e.id)->status == "pending");

    exec(p.db(), "UPDATE platform.outbox SET locked_until = now() - interval '1 second' WHERE id = CAST(:id AS uuid)",
         e.id);
    p.drain_events();
    CHECK(calls == 1);
    CHECK(effects(p.db(), sub, e.id) == 1);
    CHECK(outbox_row(p.db(), e.id)->status == "delivered");
  }

  TEST_CASE("outbox: an event nobody subscribes to is marked delivered") {
    TestApp app;
    auto& p = app.platform();
    const Event e = publish(p, "test.unheard-" + testing::unique_suffix());
    p.drain_events();
    auto row = outbox_row(p.db(), e.id);
    REQUIRE(row);
    CHECK(row->status == "delivered");
    CHECK(row->attempts == 1);
  }

  TEST_CASE("outbox: payload and metadata arrive intact") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    std::mutex mutex;
    std::vector<Event> received;
    TestApp app(testing::test_config(), [&](app::Application& a) {
      a.platform->events().subscribe("test.sub-" + u, type, [&](Tx&, const Event& e) {
        std::lock_guard lock(mutex);
        received.push_back(e);
      });
    });
    auto& p = app.platform();
    const boost::json::value payload = boost::json::parse(R"({
        "order_id": "0190f3a2-0000-7000-8000-000000000001",
        "lines": [{"sku": "TEE-\u00e9", "quantity": 2, "price": {"amount": 1999, "currency": "EUR"}}],
        "total": {"amount": 3998, "currency": "EUR"}, "note": "quote \" and backslash \\", "gift": false,
        "big": 9007199254740993, "nothing": null})");
    Event e = platform::make_event_raw(type, 3, "order-" + u, payload);
    p.db().transaction_sync([&](Tx& tx) { tx.publish(e); });
    p.drain_events();

    std::lock_guard lock(mutex);
    REQUIRE(received.size() == 1);
    const Event& got = received.front();
    CHECK(got.id == e.id);
    CHECK(platform::is_uuid(got.id));
    CHECK(got.id[14] == '7');  // UUIDv7
    CHECK(got.type == type);
    CHECK(got.version == 3);
    CHECK(got.aggregate_id == "order-" + u);
    CHECK(got.occurred_at == e.occurred_at);
    REQUIRE(got.occurred_at.size() == 24);  // 2026-11-21T10:00:00.123Z
    CHECK(got.occurred_at[4] == '-');
    CHECK(got.occurred_at[10] == 'T');
    CHECK(got.occurred_at[19] == '.');
    CHECK(got.occurred_at.back() == 'Z');
    CHECK(got.payload == payload);
  }

  TEST_CASE("outbox: a commit wakes no other instance; a pass that claims a full batch asks them for help") {
    // What another instance's listener would hear, on a connection of the test's own.
    std::unique_ptr<PGconn, decltype(&PQfinish)> listener(PQconnectdb(testing::database_url().c_str()), &PQfinish);
    REQUIRE(PQstatus(listener.get()) == CONNECTION_OK);
    PQclear(PQexec(listener.get(), "LISTEN bazaar_events"));
    // Notifications committed before a query reach the listener with its answer.
    auto heard = [&] {
      PQclear(PQexec(listener.get(), "SELECT 1"));
      int n = 0;
      while (PGnotify* note = PQnotifies(listener.get())) {
        n += std::string(note->relname) == "bazaar_events";
        PQfreemem(note);
      }
      return n;
    };
    auto config = testing::test_config();
    config.set("events.listen", true);
    config.set("events.batch_size", 3);
    TestApp app(config);
    auto& p = app.platform();
    const std::string type = "test.unheard-" + testing::unique_suffix();
    p.drain_events();  // whatever earlier tests left due
    heard();

    publish(p, type);
    CHECK(heard() == 0);  // the commit told nobody: its own instance delivers it
    p.drain_events();
    CHECK(heard() == 0);  // one event, less than a batch: no backlog to share

    for (int i = 0; i < 3; ++i) publish(p, type);
    CHECK(heard() == 0);
    p.drain_events();
    // A full batch: the pass asked the other instances to claim what it may have left.
    int n = heard();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (n == 0 && std::chrono::steady_clock::now() < deadline) {
      const int fd = PQsocket(listener.get());
      fd_set fds;
      FD_ZERO(&fds);
      FD_SET(fd, &fds);
      timeval tv{0, 100'000};
      if (select(fd + 1, &fds, nullptr, nullptr, &tv) > 0) PQconsumeInput(listener.get());
      while (PGnotify* note = PQnotifies(listener.get())) {
        n += std::string(note->relname) == "bazaar_events";
        PQfreemem(note);
      }
    }
    CHECK(n >= 1);
  }

  TEST_CASE("outbox: the background dispatcher is woken by a commit, without waiting for its poll") {
    const std::string u = testing::unique_suffix();
    const std::string type = "test." + u;
    const std::string sub = "test.sub-" + u;
    auto config = testing::test_config();
    config.set("events.dispatch_in_background", true);
    config.set("events.poll_interval_ms", 60000);  // only the wake-up can deliver within the test's bound
    config.set("events.listen", false);            // and only the in-process one
    TestApp app(config, [&](app::Application& a) {
      a.platform->events().subscribe(sub, type, [&](Tx& tx, const Event& e) { write_effect(tx, sub, e); });
    });
    auto& p = app.platform();
    ensure_effects_table(p.db());

    // Publish twice: the first may land while the loop's start-up pass is still running; the second surely
    // finds it asleep on its minute-long poll timer.
    for (int round = 0; round < 2; ++round) {
      const Event e = publish(p, type, boost::json::object{{"round", round}});
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (effects(p.db(), sub, e.id) == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a bounded poll, not a synchronisation
      }
      CHECK_MESSAGE(effects(p.db(), sub, e.id) == 1, "round ", round, ": the commit did not wake the dispatcher");
    }
  }
}
