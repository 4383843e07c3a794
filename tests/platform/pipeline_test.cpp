// pq::Pipeline against the real PostgreSQL: a batch is one implicit transaction (all or nothing, later
// statements see earlier writes), platform.expect() aborts the whole batch recognisably, published events
// land in the outbox, on_commit hooks run only after a commit, and the connection is usable afterwards — on
// an I/O thread's own connection and on the worker pool alike. pq::concurrently: both results, errors only
// once both steps ended, and one flight for both on an I/O thread's connection.
#include "support/async.hpp"
#include "support/platform_app.hpp"
#include "support/tcp_proxy.hpp"

#include <platform/db.hpp>
#include <platform/events.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>
#include <platform/pq.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace bazaar;
namespace pq = platform::pq;

namespace {

constexpr pq::Prepared kInsertRow{"test_pipeline_insert_v1",
                                  "INSERT INTO test_pipeline.rows (tag, n) VALUES ($1, $2::int) RETURNING n"};

void ensure_table(platform::Database& db) {
  db.run_sync([](soci::session& s) {
    s << "SET client_min_messages TO warning";
    s << "CREATE SCHEMA IF NOT EXISTS test_pipeline";
    s << "CREATE TABLE IF NOT EXISTS test_pipeline.rows (tag text NOT NULL, n integer NOT NULL CHECK (n >= 0))";
  });
}

pq::Params row(const std::string& tag, std::int64_t n) {
  pq::Params p;
  p.add(tag);
  p.add(n);
  return p;
}

long long count_rows(platform::Database& db, const std::string& tag) {
  long long n = 0;
  db.run_sync([&](soci::session& s) {
    s << "SELECT count(*) FROM test_pipeline.rows WHERE tag = :t", soci::use(tag), soci::into(n);
  });
  return n;
}

// Where a batch runs: on an I/O thread, sent on that thread's own non-blocking connection, or off the I/O
// threads, on the worker pool. Both must behave the same.
enum class Path { io_thread, pool };

Path choose_path() {
  Path path = Path::pool;
  SUBCASE("on an I/O thread's own connection") { path = Path::io_thread; }
  SUBCASE("on the worker pool") { path = Path::pool; }
  return path;
}

pq::Results run_batch(testing::PlatformApp& app, pq::Pipeline batch, Path path) {
  auto& db = app.platform().db();
  if (path == Path::pool) return testing::run_awaitable(pq::run(db, std::move(batch)));
  pq::Results results;
  app.platform().run_on_io([&]() -> boost::asio::awaitable<void> { results = co_await pq::run(db, std::move(batch)); });
  return results;
}

// `make` (which builds an awaitable) run on `path`, to completion.
template <class T, class Make>
T run_on(testing::PlatformApp& app, Path path, Make make) {
  if (path == Path::pool) return testing::run_awaitable(make());
  std::optional<T> out;
  app.platform().run_on_io([&]() -> boost::asio::awaitable<void> { out.emplace(co_await make()); });
  return std::move(*out);
}

// One statement's first column, as the step of a pq::concurrently.
boost::asio::awaitable<std::int64_t> scalar_of(platform::Database& db, std::string sql, pq::Params params = {}) {
  auto r = co_await pq::query(db, std::move(sql), std::move(params));
  co_return r.integer(0, 0);
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("pipeline: statements run in order in one transaction and return their results") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    const std::string tag = "ok-" + platform::new_uuid_v7();
    pq::Pipeline batch;
    batch.add(kInsertRow, row(tag, 1));
    batch.add(kInsertRow, row(tag, 2));
    pq::Params p;
    p.add(tag);
    const auto seen = batch.add("SELECT count(*) FROM test_pipeline.rows WHERE tag = $1", std::move(p));
    auto results = run_batch(app, std::move(batch), path);
    REQUIRE(results.size() == 3);
    CHECK(results[0].integer(0, 0) == 1);
    CHECK(results[1].integer(0, 0) == 2);
    CHECK(results[seen].integer(0, 0) == 2);  // a later statement sees the earlier writes
    CHECK(count_rows(db, tag) == 2);
  }

  TEST_CASE("pipeline: a failing statement rolls back the statements before it and throws its error") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    const std::string tag = "fail-" + platform::new_uuid_v7();
    pq::Pipeline batch;
    batch.add(kInsertRow, row(tag, 1));
    batch.add(kInsertRow, row(tag, -1));  // violates the CHECK
    batch.add(kInsertRow, row(tag, 3));
    try {
      run_batch(app, std::move(batch), path);
      FAIL("the batch should have failed");
    } catch (const std::exception& e) {
      CHECK(platform::sqlstate_of(e) == "23514");
    }
    CHECK(count_rows(db, tag) == 0);
    // The pooled connection left pipeline mode and works (and still knows its prepared statements).
    pq::Pipeline again;
    again.add(kInsertRow, row(tag, 4));
    run_batch(app, std::move(again), path);
    CHECK(count_rows(db, tag) == 1);
  }

  TEST_CASE("pipeline: platform.expect aborts the whole batch as an expectation failure") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    const std::string tag = "expect-" + platform::new_uuid_v7();
    pq::Pipeline batch;
    batch.add(kInsertRow, row(tag, 1));
    pq::Params p;
    p.add(tag);
    batch.add("SELECT platform.expect(count(*) = 5, 'five rows') FROM test_pipeline.rows WHERE tag = $1", std::move(p));
    bool expectation_failed = false;
    try {
      run_batch(app, std::move(batch), path);
    } catch (const std::exception& e) {
      expectation_failed = pq::is_expectation_failure(e);
      CHECK(std::string(e.what()).find("five rows") != std::string::npos);
    }
    CHECK(expectation_failed);
    CHECK(count_rows(db, tag) == 0);
  }

  TEST_CASE("pipeline: published events are in the outbox exactly when the batch commits") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    const std::string tag = "event-" + platform::new_uuid_v7();
    auto committed = platform::make_event_raw("test.pipeline_committed", 1, tag, boost::json::object{{"tag", tag}});
    auto rolled_back = platform::make_event_raw("test.pipeline_rolled_back", 1, tag, boost::json::object{{"tag", tag}});

    pq::Pipeline good;
    good.add(kInsertRow, row(tag, 1));
    good.publish(committed);
    CHECK(good.published());
    run_batch(app, std::move(good), path);

    pq::Pipeline bad;
    bad.publish(rolled_back);
    bad.add(kInsertRow, row(tag, -1));
    CHECK_THROWS(run_batch(app, std::move(bad), path));

    long long events = 0;
    std::string type;
    db.run_sync([&](soci::session& s) {
      s << "SELECT count(*), min(type) FROM platform.outbox WHERE aggregate_id = :a", soci::use(tag), soci::into(events),
          soci::into(type);
    });
    CHECK(events == 1);
    CHECK(type == "test.pipeline_committed");
  }
}

TEST_SUITE("db.platform") {
  TEST_CASE("pipeline: on_commit hooks run once the batch has committed, never for a batch that failed") {
    const Path path = choose_path();
    testing::PlatformApp app;
    ensure_table(app.platform().db());
    const std::string tag = "hook-" + platform::new_uuid_v7();
    int committed = 0, rolled_back = 0;

    pq::Pipeline good;
    good.add(kInsertRow, row(tag, 1));
    good.on_commit([&committed] { ++committed; });
    run_batch(app, std::move(good), path);
    CHECK(committed == 1);

    pq::Pipeline bad;
    bad.on_commit([&rolled_back] { ++rolled_back; });
    bad.add(kInsertRow, row(tag, -1));
    CHECK_THROWS(run_batch(app, std::move(bad), path));
    CHECK(rolled_back == 0);
  }

  TEST_CASE("pipeline: concurrently returns both results, and a step's error only once the other has ended") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    auto both = run_on<std::pair<std::int64_t, std::int64_t>>(
        app, path, [&] { return pq::concurrently(scalar_of(db, "SELECT 7"), scalar_of(db, "SELECT 8")); });
    CHECK(both.first == 7);
    CHECK(both.second == 8);

    // The failing step fails at once; the slower one still runs to its end before the error surfaces, so
    // nothing is left half-way and unobserved.
    const std::string tag = "concurrent-" + platform::new_uuid_v7();
    auto failing = [&] {
      return run_on<std::pair<std::int64_t, std::int64_t>>(app, path, [&] {
        return pq::concurrently(scalar_of(db, "SELECT 1 / 0"),
                                scalar_of(db, R"sql(INSERT INTO test_pipeline.rows (tag, n)
                                                    SELECT $1, $2::int FROM pg_sleep(0.1) RETURNING n)sql",
                                          row(tag, 5)));
      });
    };
    CHECK_THROWS(failing());
    CHECK(count_rows(db, tag) == 1);
  }

  TEST_CASE("pipeline: what concurrent steps send on an I/O thread's connection leaves in one flight") {
    const auto db_address = testing::host_port_of(testing::database_url(), 5432);
    testing::TcpProxy proxy(db_address.host, db_address.port);
    auto config = testing::test_config();
    config.set("database.url",
               boost::json::string(testing::with_host_port(testing::database_url(), "127.0.0.1", proxy.port())));
    config.set("database.async_connections", 1);
    testing::PlatformApp app(config);
    auto& db = app.platform().db();
    auto on_io = [&](auto make) {
      app.platform().run_on_io([&]() -> boost::asio::awaitable<void> { co_await make(); });
    };
    auto one_after_the_other = [&]() -> boost::asio::awaitable<void> {
      co_await scalar_of(db, "SELECT 1");
      co_await scalar_of(db, "SELECT 2");
    };
    auto together = [&]() -> boost::asio::awaitable<void> {
      co_await pq::concurrently(scalar_of(db, "SELECT 1"), scalar_of(db, "SELECT 2"));
    };
    on_io(together);  // warm-up: the connection is up
    proxy.reset_round_trips();
    on_io(one_after_the_other);
    CHECK(proxy.round_trips() == 2);
    proxy.reset_round_trips();
    on_io(together);
    CHECK(proxy.round_trips() == 1);
  }

  TEST_CASE("pipeline: refuses to run inside a transaction (its implicit transaction would end that one)") {
    const Path path = choose_path();
    testing::PlatformApp app;
    auto& db = app.platform().db();
    ensure_table(db);
    const std::string tag = "in-tx-" + platform::new_uuid_v7();
    pq::Pipeline batch;
    batch.add(kInsertRow, row(tag, 1));
    CHECK_THROWS_AS(db.transaction_sync([&](platform::Tx& tx) { batch.run(tx.sql()); }), std::logic_error);
    CHECK(count_rows(db, tag) == 0);
    // The refused batch left the connection as it was: the same batch runs outside a transaction.
    run_batch(app, std::move(batch), path);
    CHECK(count_rows(db, tag) == 1);
  }
}
