// Lone reads on an I/O thread's connection share one Sync per turn of the event loop
// (AsyncConnection::submit): all of one turn's reads leave in one round trip and each gets its own answer;
// when one of them fails it alone gets the error, and the others are answered (those after it, skipped by
// PostgreSQL, are sent again); a batch sent in the same turn keeps its place in line; statements that lock
// or change something never join a group.
#include "support/round_trips.hpp"

#include "db/async_connection.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>
#include <platform/pq.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace bazaar;
namespace asio = boost::asio;
namespace pq = platform::pq;

namespace {

constexpr pq::Prepared kDouble{"test_grouped_double_v1", "SELECT CAST($1 AS int) * 2"};
constexpr pq::Prepared kTriple{"test_grouped_triple_v1", "SELECT CAST($1 AS int) * 3"};
constexpr pq::Prepared kCountTag{"test_grouped_count_v1", "SELECT count(*) FROM test_grouped.rows WHERE tag = $1"};

struct Outcome {
  std::optional<std::int64_t> value;
  std::exception_ptr error;
};

using Step = std::function<asio::awaitable<std::int64_t>()>;

// Starts every step on the calling I/O thread in the same turn (each posted, none awaited before the next
// starts) and waits until all have ended.
asio::awaitable<std::vector<Outcome>> start_together(std::vector<Step> steps) {
  const auto executor = co_await asio::this_coro::executor;
  std::vector<Outcome> outcomes(steps.size());
  std::size_t remaining = steps.size();
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    asio::co_spawn(executor, steps[i](), [&, i](std::exception_ptr error, std::int64_t value) {
      if (error) {
        outcomes[i].error = error;
      } else {
        outcomes[i].value = value;
      }
      if (--remaining == 0) all_done.cancel();
    });
  }
  co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return outcomes;
}

std::string sqlstate(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return platform::sqlstate_of(e);
  }
}

Step read(platform::Database& db, const pq::Prepared& statement, std::string value) {
  return [&db, &statement, value]() -> asio::awaitable<std::int64_t> {
    pq::Params params;
    params.add(value);
    auto r = co_await pq::query(db, statement, std::move(params));
    co_return r.integer(0, 0);
  };
}

// Every statement of `steps` started on an I/O thread of `t`'s application, in one turn.
std::vector<Outcome> run_together(testing::RoundTripApp& t, std::vector<Step> steps) {
  std::vector<Outcome> outcomes;
  t.app().platform().run_on_io([&]() -> asio::awaitable<void> { outcomes = co_await start_together(std::move(steps)); });
  return outcomes;
}

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("grouped reads: one turn's lone reads leave in one round trip, each with its own answer") {
    testing::RoundTripApp t;
    auto& db = t.app().platform().db();
    run_together(t, {read(db, kDouble, "0")});  // the connection is up and has prepared the statement
    std::vector<Step> steps;
    for (int i = 1; i <= 20; ++i) steps.push_back(read(db, kDouble, std::to_string(i)));
    std::vector<Outcome> outcomes;
    CHECK(t.count([&] { outcomes = run_together(t, std::move(steps)); }) == 1);
    for (int i = 1; i <= 20; ++i) {
      const auto& o = outcomes[static_cast<std::size_t>(i - 1)];
      REQUIRE_MESSAGE(o.value, "read " << i << " failed");
      CHECK(*o.value == 2 * i);
    }
  }

  TEST_CASE("grouped reads: a failing read gets its error, the other reads of its group their answers") {
    testing::RoundTripApp t;
    auto& db = t.app().platform().db();
    run_together(t, {read(db, kDouble, "0")});
    // Reads before and after the failing one; those after it use a statement this connection has not
    // prepared yet, so their Prepare is skipped with the group and must be sent again too.
    std::vector<Step> steps{read(db, kDouble, "1"), read(db, kDouble, "2"), read(db, kDouble, "not a number"),
                            read(db, kTriple, "3"), read(db, kTriple, "4")};
    const auto outcomes = run_together(t, std::move(steps));
    REQUIRE(outcomes.size() == 5);
    CHECK(outcomes[0].value == 2);
    CHECK(outcomes[1].value == 4);
    REQUIRE(outcomes[2].error);
    CHECK(sqlstate(outcomes[2].error) == "22P02");  // invalid input syntax for type integer
    CHECK(outcomes[3].value == 9);
    CHECK(outcomes[4].value == 12);
    // The connection is in step afterwards: the next turn's reads are grouped and answered again.
    const auto after = run_together(t, {read(db, kTriple, "5"), read(db, kDouble, "6")});
    CHECK(after[0].value == 15);
    CHECK(after[1].value == 12);
  }

  TEST_CASE("grouped reads: a batch sent in the same turn keeps its place between the reads") {
    testing::RoundTripApp t;
    auto& db = t.app().platform().db();
    db.run_sync([](soci::session& s) {
      s << "SET client_min_messages TO warning";
      s << "CREATE SCHEMA IF NOT EXISTS test_grouped";
      s << "CREATE TABLE IF NOT EXISTS test_grouped.rows (tag text NOT NULL)";
    });
    const std::string tag = "grouped-" + platform::new_uuid_v7();
    auto insert = [&db, tag]() -> asio::awaitable<std::int64_t> {
      pq::Pipeline batch;
      pq::Params params;
      params.add(tag);
      batch.add("INSERT INTO test_grouped.rows (tag) VALUES ($1)", std::move(params));
      auto results = co_await pq::run(db, std::move(batch));
      co_return results[0].affected_rows();
    };
    const auto outcomes = run_together(t, {read(db, kCountTag, tag), insert, read(db, kCountTag, tag)});
    CHECK(outcomes[0].value == 0);  // sent, with its Sync, before the insert
    CHECK(outcomes[1].value == 1);
    CHECK(outcomes[2].value == 1);  // sent after the insert's transaction
  }

  TEST_CASE("grouped reads: only plain SELECTs join a group") {
    using platform::pq::detail::is_read_only;
    CHECK(is_read_only("SELECT id FROM accounts.users WHERE id = $1"));
    CHECK(is_read_only("\n  select count(*)\n  from t"));
    CHECK_FALSE(is_read_only("SELECT * FROM t WHERE id = $1 FOR UPDATE"));
    CHECK_FALSE(is_read_only("SELECT * FROM t WHERE id = $1\n  FOR\n  NO KEY UPDATE SKIP LOCKED"));
    CHECK_FALSE(is_read_only("select * from t for share"));
    CHECK_FALSE(is_read_only("SELECT * FROM t FOR KEY SHARE"));
    CHECK_FALSE(is_read_only("SELECT pg_advisory_xact_lock(42)"));
    CHECK_FALSE(is_read_only("SELECT nextval('orders.numbers')"));
    CHECK_FALSE(is_read_only("INSERT INTO t VALUES (1) RETURNING id"));
    CHECK_FALSE(is_read_only("WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone"));
    CHECK_FALSE(is_read_only("UPDATE t SET n = n + 1"));
  }
}
