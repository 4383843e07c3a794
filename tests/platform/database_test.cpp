// The database pool against the real PostgreSQL: transactions and their after-commit hooks, the coroutine
// interface, SQLSTATE helpers, retried serialization failures, statement timeouts, back-pressure (503
// instead of an unbounded queue) and reconnecting after the server dropped a connection.
#include "support/eventually.hpp"
#include "support/async.hpp"
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/error.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace bazaar;
using namespace std::chrono_literals;
using platform::Database;
using platform::DatabaseOptions;
using platform::Errc;
using platform::ErrorException;
using platform::Tx;
using testing::run_awaitable;

DatabaseOptions options(std::size_t pool_size = 2, std::size_t max_queue = 64,
                        std::chrono::milliseconds acquire_timeout = 5000ms,
                        std::chrono::milliseconds statement_timeout = 5000ms) {
  return DatabaseOptions{testing::database_url(), pool_size, max_queue, acquire_timeout, statement_timeout};
}

// A direct connection of its own. SOCI does not take URI-style URLs, so libpq turns the test URL into
// key='value' pairs first.
std::unique_ptr<soci::session> connect() {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(testing::database_url().c_str(), &error);
  if (!options) {
    if (error) PQfreemem(error);
    throw std::runtime_error("BAZAAR_TEST_DATABASE_URL is not a valid connection string");
  }
  std::string conninfo;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') value.push_back('\\');
      value.push_back(*c);
    }
    conninfo += std::string(conninfo.empty() ? "" : " ") + o->keyword + "='" + value + "'";
  }
  PQconninfoFree(options);
  auto session = std::make_unique<soci::session>(soci::postgresql, conninfo);
  *session << "SET client_min_messages TO warning";  // no "drop cascades to ..." notices on stderr
  return session;
}

void ensure_rows_table(Database& db) {
  db.run_sync([](soci::session& s) {
    s << "SET client_min_messages TO warning";
    s << "CREATE SCHEMA IF NOT EXISTS test_effects";
    s << "CREATE TABLE IF NOT EXISTS test_effects.db_rows (tag text NOT NULL, n integer NOT NULL)";
    s << "CREATE TABLE IF NOT EXISTS test_effects.db_unique (key text PRIMARY KEY)";
  });
}

void insert_row(soci::session& s, const std::string& tag, int n = 1) {
  s << "INSERT INTO test_effects.db_rows (tag, n) VALUES (:t, :n)", soci::use(tag), soci::use(n);
}

long long rows(soci::session& s, const std::string& tag) {
  long long n = 0;
  s << "SELECT count(*) FROM test_effects.db_rows WHERE tag = :t", soci::into(n), soci::use(tag);
  return n;
}

long long rows(Database& db, const std::string& tag) {
  long long n = 0;
  db.run_sync([&](soci::session& s) { n = rows(s, tag); });
  return n;
}

// A one-shot gate between the test thread and a worker.
struct Latch {
  std::promise<void> promise;
  std::shared_future<void> future = promise.get_future().share();
  std::atomic<bool> done{false};
  void open() {
    if (!done.exchange(true)) promise.set_value();
  }
  bool wait() const { return future.wait_for(10s) == std::future_status::ready; }
};

struct OnExit {
  std::function<void()> fn;
  ~OnExit() { fn(); }
};

using testing::eventually;

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("database: a transaction commits, and an exception rolls it back and propagates") {
    Database db(options());
    ensure_rows_table(db);
    const std::string tag = testing::unique_suffix();

    db.transaction_sync([&](Tx& tx) {
      insert_row(tx.sql(), tag, 1);
      insert_row(tx.sql(), tag, 2);
    });
    CHECK(rows(db, tag) == 2);

    CHECK_THROWS_WITH_AS(db.transaction_sync([&](Tx& tx) {
      insert_row(tx.sql(), tag, 3);
      throw std::invalid_argument("changed my mind");
    }),
                         "changed my mind", std::invalid_argument);
    CHECK(rows(db, tag) == 2);

    // The session is back in autocommit mode: a plain run is not swallowed by a dangling transaction.
    db.run_sync([&](soci::session& s) { insert_row(s, tag, 4); });
    auto observer = connect();
    CHECK(rows(*observer, tag) == 3);
  }

  TEST_CASE("database: after-commit hooks run after the commit, in order, and never on rollback") {
    Database db(options());
    ensure_rows_table(db);
    const std::string tag = testing::unique_suffix();
    auto observer = connect();  // another connection: sees only committed rows

    std::vector<std::string> calls;
    std::optional<long long> visible_in_hook;
    db.transaction_sync([&](Tx& tx) {
      insert_row(tx.sql(), tag);
      tx.after_commit([&] {
        calls.push_back("first");
        visible_in_hook = rows(*observer, tag);
      });
      tx.after_commit([&] { calls.push_back("second"); });
      CHECK(calls.empty());
    });
    CHECK(calls == std::vector<std::string>{"first", "second"});
    CHECK(visible_in_hook == 1);  // the hook ran after COMMIT, not before

    bool ran = false;
    CHECK_THROWS_AS(db.transaction_sync([&](Tx& tx) {
      insert_row(tx.sql(), tag);
      tx.after_commit([&] { ran = true; });
      throw std::runtime_error("rollback");
    }),
                    std::runtime_error);
    CHECK_FALSE(ran);

    // A failing statement rolls back too, and skips the hooks.
    CHECK_THROWS(db.transaction_sync([&](Tx& tx) {
      tx.after_commit([&] { ran = true; });
      tx.sql() << "SELECT * FROM test_effects.no_such_table";
    }));
    CHECK_FALSE(ran);
    CHECK(rows(*observer, tag) == 1);
  }

  TEST_CASE("database: run and transaction from a coroutine return values and rethrow exceptions") {
    Database db(options());
    ensure_rows_table(db);
    const std::string tag = testing::unique_suffix();

    const int answer = run_awaitable(db.run([](soci::session& s) {
      int x = 0;
      s << "SELECT 41 + 1", soci::into(x);
      return x;
    }));
    CHECK(answer == 42);

    const std::string text = run_awaitable(db.run([](soci::session& s) {
      std::string t;
      s << "SELECT repeat('ab', 3)", soci::into(t);
      return t;
    }));
    CHECK(text == "ababab");

    run_awaitable(db.run([&](soci::session& s) { insert_row(s, tag); }));  // void
    const long long in_tx = run_awaitable(db.transaction([&](Tx& tx) {
      insert_row(tx.sql(), tag);
      return rows(tx.sql(), tag);
    }));
    CHECK(in_tx == 2);

    CHECK_THROWS_WITH_AS(run_awaitable(db.run([](soci::session&) -> int { throw std::logic_error("from the worker"); })),
                         "from the worker", std::logic_error);
    CHECK_THROWS_WITH_AS(run_awaitable(db.transaction([&](Tx& tx) {
      insert_row(tx.sql(), tag);
      throw std::out_of_range("undo");
    })),
                         "undo", std::out_of_range);
    CHECK(rows(db, tag) == 2);

    try {
      run_awaitable(db.run([](soci::session& s) { s << "SELECT * FROM test_effects.no_such_table"; }));
      FAIL("a bad query did not throw");
    } catch (const std::exception& e) {
      CHECK(platform::sqlstate_of(e) == "42P01");
    }
    // The connection survives a failed statement.
    CHECK(run_awaitable(db.run([](soci::session& s) {
            int one = 0;
            s << "SELECT 1", soci::into(one);
            return one;
          })) == 1);
  }

  TEST_CASE("database: sqlstate_of and is_unique_violation recognise a real duplicate key") {
    Database db(options());
    ensure_rows_table(db);
    const std::string key = testing::unique_suffix();
    db.run_sync([&](soci::session& s) { s << "INSERT INTO test_effects.db_unique (key) VALUES (:k)", soci::use(key); });

    std::optional<std::string> state;
    bool unique = false;
    try {
      db.transaction_sync([&](Tx& tx) {
        tx.sql() << "INSERT INTO test_effects.db_unique (key) VALUES (:k)", soci::use(key);
      });
    } catch (const std::exception& e) {
      state = platform::sqlstate_of(e);
      unique = platform::is_unique_violation(e);
    }
    CHECK(state == "23505");
    CHECK(unique);

    // The same through the coroutine interface.
    try {
      run_awaitable(db.run([&](soci::session& s) {
        s << "INSERT INTO test_effects.db_unique (key) VALUES (:k)", soci::use(key);
      }));
      FAIL("a duplicate key was accepted");
    } catch (const std::exception& e) {
      CHECK(platform::is_unique_violation(e));
    }

    // Other errors are not unique violations; non-database exceptions have no SQLSTATE.
    try {
      db.run_sync([](soci::session& s) { s << "SELECT 1 / 0"; });
      FAIL("division by zero did not throw");
    } catch (const std::exception& e) {
      CHECK(platform::sqlstate_of(e) == "22012");
      CHECK_FALSE(platform::is_unique_violation(e));
    }
    CHECK(platform::sqlstate_of(std::runtime_error("plain")) == "");
    CHECK_FALSE(platform::is_unique_violation(std::runtime_error("23505")));
  }

  TEST_CASE("database: a serialization failure is retried once, other errors are not retried") {
    Database db(options());
    ensure_rows_table(db);
    const std::string tag = testing::unique_suffix();
    const std::string raise_40001 =
        "DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = 'serialization_failure'; END $$";

    int calls = 0;
    db.transaction_sync([&](Tx& tx) {
      insert_row(tx.sql(), tag);  // rolled back with the failed attempt
      if (++calls == 1) tx.sql() << raise_40001;
    });
    CHECK(calls == 2);
    CHECK(rows(db, tag) == 1);

    int always = 0;
    try {
      db.transaction_sync([&](Tx& tx) {
        ++always;
        tx.sql() << raise_40001;
      });
      FAIL("a persistent serialization failure was swallowed");
    } catch (const std::exception& e) {
      CHECK(platform::sqlstate_of(e) == "40001");
    }
    CHECK(always == 2);

    int other = 0;
    CHECK_THROWS(db.transaction_sync([&](Tx& tx) {
      ++other;
      tx.sql() << "SELECT 1 / 0";
    }));
    CHECK(other == 1);
  }

  TEST_CASE("database: a statement over database.statement_timeout_ms fails fast as unavailable") {
    auto config = testing::test_config();
    config.set("database.statement_timeout_ms", 200);
    testing::TestApp app(config);
    auto& db = app.platform().db();

    auto timed_out_fast = [](auto&& awaitable) {
      const auto started = std::chrono::steady_clock::now();
      std::optional<Errc> code;
      int retry_after = 0;
      try {
        run_awaitable(std::move(awaitable));
      } catch (const ErrorException& e) {
        code = e.error().code;
        retry_after = e.error().retry_after_seconds;
      }
      const auto elapsed = std::chrono::steady_clock::now() - started;
      CHECK(code == Errc::unavailable);
      CHECK(retry_after > 0);
      CHECK(elapsed < 1500ms);
    };
    // In a transaction and in autocommit mode alike; twice, so that a connection that timed out is reused.
    for (int round = 0; round < 2; ++round) {
      timed_out_fast(db.transaction([](Tx& tx) { tx.sql() << "SELECT pg_sleep(2)"; }));
      timed_out_fast(db.run([](soci::session& s) { s << "SELECT pg_sleep(2)"; }));
    }

    // The connections are fine afterwards, and statements within the deadline run.
    CHECK(run_awaitable(db.transaction([](Tx& tx) {
            int one = 0;
            tx.sql() << "SELECT 1 FROM pg_sleep(0.01)", soci::into(one);
            return one;
          })) == 1);
    CHECK(run_awaitable(db.run([](soci::session&) { return 2; })) == 2);
  }

  TEST_CASE("database: the pool refuses work with 503 when its queue is full") {
    Database db(options(/*pool_size=*/1, /*max_queue=*/1));
    Latch entered, release;
    std::atomic<bool> queued_ran{false};
    std::jthread blocker([&] {
      db.run_sync([&](soci::session&) {
        entered.open();
        release.wait();
      });
    });
    REQUIRE(entered.wait());
    std::jthread queued([&] { db.run_sync([&](soci::session&) { queued_ran = true; }); });
    OnExit unblock{[&] { release.open(); }};  // before the threads are joined, even after a failed REQUIRE
    REQUIRE(eventually([&] { return db.pool().queued() == 1; }));
    const auto rejected_before = db.pool().rejected();

    std::optional<Errc> code;
    int retry_after = 0;
    bool ran = false;
    try {
      run_awaitable(db.run([&](soci::session&) { ran = true; }));
    } catch (const ErrorException& e) {
      code = e.error().code;
      retry_after = e.error().retry_after_seconds;
    }
    CHECK(code == Errc::unavailable);
    CHECK(retry_after > 0);
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(db.run_sync([&](soci::session&) { ran = true; }), ErrorException);
    CHECK(db.pool().rejected() == rejected_before + 2);

    release.open();
    blocker.join();
    queued.join();
    CHECK(queued_ran);  // what was queued still ran
    CHECK_FALSE(ran);
  }

  TEST_CASE("database: a job that waited longer than acquire_timeout is refused with 503") {
    Database db(options(/*pool_size=*/1, /*max_queue=*/16, /*acquire_timeout=*/50ms));
    Latch entered;
    std::jthread blocker([&] {
      db.run_sync([&](soci::session& s) {
        entered.open();
        // A slow query that outlasts the waiting job's acquire_timeout, once that job is queued.
        if (eventually([&] { return db.pool().queued() >= 1; })) s << "SELECT pg_sleep(0.2)";
      });
    });
    REQUIRE(entered.wait());
    std::optional<Errc> code;
    bool ran = false;
    try {
      run_awaitable(db.run([&](soci::session&) { ran = true; }));
    } catch (const ErrorException& e) {
      code = e.error().code;
    }
    CHECK(code == Errc::unavailable);
    CHECK_FALSE(ran);
    blocker.join();

    // With the pool free again, work runs.
    CHECK(run_awaitable(db.run([](soci::session&) { return 7; })) == 7);
  }

  TEST_CASE("database: ids made by one process are UUIDv7 in creation order, even within a millisecond") {
    // Newest-first lists and keyset pagination ORDER BY id; PostgreSQL orders uuids bytewise, which for
    // these lower-case fixed-width strings is their string order.
    std::vector<std::string> ids;
    ids.reserve(5000);
    for (int i = 0; i < 5000; ++i) ids.push_back(platform::new_uuid_v7());  // thousands per millisecond
    std::size_t out_of_order = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      CAPTURE(ids[i]);
      REQUIRE(platform::is_uuid(ids[i]));
      REQUIRE(ids[i][14] == '7');                                            // version
      REQUIRE(std::string_view("89ab").find(ids[i][19]) != std::string::npos);  // RFC 9562 variant
      if (i > 0 && !(ids[i - 1] < ids[i])) ++out_of_order;
    }
    CHECK(out_of_order == 0);
  }

  TEST_CASE("database: a connection the server dropped while idle is replaced before the next call") {
    Database db(options(/*pool_size=*/1));
    auto backend_pid = [&] {
      return run_awaitable(db.run([](soci::session& s) {
        int pid = 0;
        s << "SELECT pg_backend_pid()", soci::into(pid);
        return pid;
      }));
    };
    const int first = backend_pid();
    auto admin = connect();
    int terminated = 0;  // waits (up to 5 s) until the backend has gone
    *admin << "SELECT pg_terminate_backend(:p, 5000)::int", soci::use(first), soci::into(terminated);
    REQUIRE(terminated == 1);

    const int second = backend_pid();  // no failed call: the closed socket is noticed before use
    CHECK(second != first);
  }

  TEST_CASE("database: a connection the server drops during a call fails that call as unavailable and is replaced") {
    Database db(options(/*pool_size=*/1));
    const std::string tag = "drop-me-" + platform::new_uuid_v7();
    auto sleeper = std::async(std::launch::async, [&] {
      std::optional<Errc> code;
      try {
        run_awaitable(db.run([&](soci::session& s) { s << "SELECT pg_sleep(10) /* " + tag + " */"; }));
      } catch (const ErrorException& e) {
        code = e.error().code;
      }
      return code;
    });
    auto admin = connect();
    int sleeping_pid = 0;
    const std::string pattern = "%" + tag + "%";  // SOCI binds by reference: a named string
    REQUIRE(eventually([&] {  // the call is in flight once the server runs it
      soci::indicator ind = soci::i_null;
      *admin << "SELECT max(pid) FROM pg_stat_activity WHERE query LIKE :q AND query NOT LIKE '%pg_stat_activity%'",
          soci::use(pattern), soci::into(sleeping_pid, ind);
      return ind == soci::i_ok;
    }));
    int terminated = 0;
    *admin << "SELECT pg_terminate_backend(:p, 5000)::int", soci::use(sleeping_pid), soci::into(terminated);
    REQUIRE(terminated == 1);
    CHECK(sleeper.get() == Errc::unavailable);

    int pid = 0;
    run_awaitable(db.run([&](soci::session& s) { s << "SELECT pg_backend_pid()", soci::into(pid); }));
    CHECK(pid != sleeping_pid);
  }

}
