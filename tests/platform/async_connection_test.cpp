// The I/O threads' own database connections against the real PostgreSQL (pq::query and pq::run on an I/O
// thread): they serve statements without the worker pool, many requests' statements share one
// connection in pipeline mode and each gets its own result or error, a statement timeout is a 503 that
// leaves the connection usable, and a connection the server drops (busy or idle) is replaced.
#include "support/eventually.hpp"
#include "support/async.hpp"
#include "support/platform_app.hpp"
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/error.hpp>
#include <platform/metrics.hpp>
#include <platform/platform.hpp>
#include <platform/pq.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace bazaar;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace pq = platform::pq;

namespace {

constexpr pq::Prepared kDoubleAndPid{"test_async_double_v1", "SELECT $1::int * 2, pg_backend_pid()"};
constexpr pq::Prepared kDivide{"test_async_divide_v1", "SELECT 100 / $1::int"};
constexpr pq::Prepared kBroken{"test_async_broken_v1", "SELEC 1"};

pq::Params int_param(std::int64_t v) {
  pq::Params p;
  p.add(v);
  return p;
}

// Runs `fn` on the platform's first I/O thread and returns its result.
template <class T>
T on_io(testing::PlatformApp& app, std::function<asio::awaitable<T>()> fn) {
  std::optional<T> out;
  app.platform().run_on_io([&]() -> asio::awaitable<void> { out.emplace(co_await fn()); });
  return std::move(*out);
}

int async_backend_pid(testing::PlatformApp& app) {
  auto& db = app.platform().db();
  return on_io<int>(app, [&]() -> asio::awaitable<int> {
    auto r = co_await pq::query(db, kDoubleAndPid, int_param(1));
    co_return static_cast<int>(r.integer(0, 1));
  });
}

// The error code a statement fails with on the I/O thread, or nullopt when it succeeds.
std::optional<platform::Errc> async_error(testing::PlatformApp& app, const pq::Prepared& statement, pq::Params params) {
  auto& db = app.platform().db();
  return on_io<std::optional<platform::Errc>>(app, [&]() -> asio::awaitable<std::optional<platform::Errc>> {
    try {
      co_await pq::query(db, statement, std::move(params));
    } catch (const platform::ErrorException& e) {
      co_return e.error().code;
    }
    co_return std::nullopt;
  });
}

double metric(testing::PlatformApp& app, const std::string& name) {
  const std::string text = app.platform().metrics().render();
  const auto at = text.find("\n" + name + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + name.size() + 2));
}

// Sets pq::replan_after for one test.
struct ReplanAfter {
  std::chrono::milliseconds before = pq::replan_after();
  explicit ReplanAfter(std::chrono::milliseconds interval) { pq::set_replan_after(interval); }
  ~ReplanAfter() { pq::set_replan_after(before); }
};

// When this statement was prepared on the connection that runs it.
constexpr pq::Prepared kPreparedAt{"test_replan_prepared_at_v1",
                                   "SELECT prepare_time::text FROM pg_prepared_statements WHERE name = 'test_replan_prepared_at_v1'"};

using testing::eventually;

void terminate_backend(testing::PlatformApp& app, int pid) {
  int terminated = 0;  // waits (up to 5 s) until the backend has gone
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT pg_terminate_backend(:p, 5000)::int", soci::use(pid), soci::into(terminated);
  });
  REQUIRE(terminated == 1);
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("async connections: an I/O thread's statements run on its own connection, not on the worker pool") {
    testing::PlatformApp app;
    const int pid = async_backend_pid(app);
    CHECK(async_backend_pid(app) == pid);  // one connection per I/O thread (database.async_connections = 1)
    int pool_pid = 0;
    app.platform().db().run_sync([&](soci::session& s) { s << "SELECT pg_backend_pid()", soci::into(pool_pid); });
    CHECK(pool_pid != pid);
    CHECK(metric(app, "bazaar_db_async_connections") == 2);  // http.threads = 2 in tests
    CHECK(metric(app, "bazaar_db_async_batches_total") >= 2);
  }

  TEST_CASE("async connections: with database.async_connections = 0 every statement runs on the pool") {
    auto config = testing::test_config();
    config.set("database.async_connections", 0);
    testing::PlatformApp app(config);
    const auto jobs_before = app.platform().db().pool().completed();
    async_backend_pid(app);
    CHECK(app.platform().db().pool().completed() > jobs_before);
    CHECK(metric(app, "bazaar_db_async_connections") == 0);
  }

  TEST_CASE("async connections: concurrent statements share the connection, each gets its own result or error") {
    testing::PlatformApp app;
    auto& db = app.platform().db();
    constexpr int kStatements = 300;
    struct Outcome {
      std::int64_t value = -1;
      int pid = 0;
      std::string sqlstate;
    };
    std::vector<Outcome> outcomes(kStatements);
    app.platform().run_on_io([&]() -> asio::awaitable<void> {
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
      int remaining = kStatements;
      for (int i = 0; i < kStatements; ++i) {
        // Every seventh statement divides by zero; the others double their number.
        asio::co_spawn(executor, [&, i]() -> asio::awaitable<void> {
          try {
            if (i % 7 == 3) {
              co_await pq::query(db, kDivide, int_param(0));
            } else {
              auto r = co_await pq::query(db, kDoubleAndPid, int_param(i));
              outcomes[i].value = r.integer(0, 0);
              outcomes[i].pid = static_cast<int>(r.integer(0, 1));
            }
          } catch (const std::exception& e) {
            outcomes[i].sqlstate = platform::sqlstate_of(e);
          }
          if (--remaining == 0) all_done.cancel();
        }, asio::detached);
      }
      boost::system::error_code ec;
      co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    });
    std::set<int> pids;
    int failures = 0;
    for (int i = 0; i < kStatements; ++i) {
      if (i % 7 == 3) {
        CHECK(outcomes[i].sqlstate == "22012");
        ++failures;
      } else {
        CHECK(outcomes[i].sqlstate.empty());
        CHECK(outcomes[i].value == 2 * i);
        pids.insert(outcomes[i].pid);
      }
    }
    CHECK(failures == kStatements / 7 + (kStatements % 7 > 3 ? 1 : 0));
    CHECK(pids.size() == 1);  // all on the thread's one connection
  }

  TEST_CASE("async connections: a statement that cannot be prepared fails alone, and again on its next use") {
    testing::PlatformApp app;
    const int pid = async_backend_pid(app);
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto& db = app.platform().db();
      const auto state = on_io<std::string>(app, [&]() -> asio::awaitable<std::string> {
        try {
          co_await pq::query(db, kBroken);
        } catch (const std::exception& e) {
          co_return platform::sqlstate_of(e);
        }
        co_return "";
      });
      CHECK(state == "42601");  // a syntax error each time, not "already exists" or "does not exist"
    }
    CHECK(async_backend_pid(app) == pid);  // the connection stayed
  }

  TEST_CASE("async connections: a statement over the timeout is a 503 and the connection stays usable") {
    auto config = testing::test_config();
    config.set("database.statement_timeout_ms", 200);
    testing::PlatformApp app(config);
    const int pid = async_backend_pid(app);
    static constexpr pq::Prepared kSleep{"test_async_sleep_v1", "SELECT pg_sleep($1::int)"};
    const auto started = std::chrono::steady_clock::now();
    CHECK(async_error(app, kSleep, int_param(2)) == platform::Errc::unavailable);
    CHECK(std::chrono::steady_clock::now() - started < 1500ms);
    CHECK(async_backend_pid(app) == pid);
  }

  TEST_CASE("async connections: a dropped connection fails what was in flight with 503 and is replaced") {
    testing::PlatformApp app;
    auto& db = app.platform().db();
    const int pid = async_backend_pid(app);
    static constexpr pq::Prepared kSleep{"test_async_long_sleep_v1", "SELECT pg_sleep($1::int)"};
    std::promise<std::optional<platform::Errc>> in_flight;
    app.platform().run_on_io([&]() -> asio::awaitable<void> {
      asio::co_spawn(co_await asio::this_coro::executor, [&]() -> asio::awaitable<void> {
        std::optional<platform::Errc> code;
        try {
          co_await pq::query(db, kSleep, int_param(10));
        } catch (const platform::ErrorException& e) {
          code = e.error().code;
        }
        in_flight.set_value(code);
      }, asio::detached);
      co_return;
    });
    int sleeping = 0;
    REQUIRE(eventually([&] {  // the statement is in flight once the server runs it
      db.run_sync([&](soci::session& s) {
        s << "SELECT count(*) FROM pg_stat_activity WHERE pid = :p AND query LIKE '%pg_sleep%'", soci::use(pid),
            soci::into(sleeping);
      });
      return sleeping == 1;
    }));
    terminate_backend(app, pid);
    CHECK(in_flight.get_future().get() == platform::Errc::unavailable);

    // Later statements are served (by the pool while the thread reconnects), then by a new connection.
    CHECK(async_error(app, kDoubleAndPid, int_param(1)) == std::nullopt);
    REQUIRE(eventually([&] { return metric(app, "bazaar_db_async_connections") == 2; }));
    const int replaced = async_backend_pid(app);
    CHECK(replaced != pid);
    CHECK(async_backend_pid(app) == replaced);
  }

  TEST_CASE("async connections: a connection the server closed while idle is replaced without a failed statement") {
    testing::PlatformApp app;
    const int pid = async_backend_pid(app);
    terminate_backend(app, pid);
    for (int i = 0; i < 5; ++i) CHECK(async_error(app, kDoubleAndPid, int_param(i)) == std::nullopt);
    REQUIRE(eventually([&] { return metric(app, "bazaar_db_async_connections") == 2; }));
    CHECK(async_backend_pid(app) != pid);
  }

  TEST_CASE("async connections: prepared statements are prepared afresh after pq::replan_after, and keep answering") {
    auto config = testing::test_config();
    config.set("database.pool_size", 1);  // the pool's statements all land on one connection
    testing::PlatformApp app(config);
    auto& db = app.platform().db();
    auto prepared_at = [&]() -> asio::awaitable<std::string> { co_return (co_await pq::query(db, kPreparedAt)).string(0, 0); };
    const std::function<std::string()> on_thread = [&] { return on_io<std::string>(app, prepared_at); };
    const std::function<std::string()> on_pool = [&] { return testing::run_awaitable(prepared_at()); };
    for (const auto* run : {&on_thread, &on_pool}) {
      CAPTURE((run == &on_thread ? "an I/O thread's connection" : "the pool"));
      {
        ReplanAfter never(std::chrono::hours(1));
        const auto first = (*run)();
        CHECK((*run)() == first);  // kept
      }
      ReplanAfter always(std::chrono::milliseconds(0));
      const auto first = (*run)();
      const auto second = (*run)();
      CHECK(second > first);  // prepared again, and it still answers
    }
  }
}
