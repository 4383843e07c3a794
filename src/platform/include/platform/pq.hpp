#pragma once
// libpq on a pooled SOCI session, for the hot paths SOCI handles poorly: a parameterised query is exactly
// one round trip (PQexecParams, planned for the actual values), a hot statement is prepared once per
// connection and then executed with PQexecPrepared (one round trip, planned once: DESIGN.md "prepare hot
// statements once per connection"), and results are read as text without per-column conversions.
// Parameters are written $1, $2, ... in the SQL; Params::add returns the placeholder for a value.
// Errors are thrown as soci::postgresql_soci_error carrying the SQLSTATE, so that the platform's error
// mapping (is_unique_violation, statement timeouts, lost connections) applies unchanged.
#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace soci {
class session;
}

struct pg_result;

namespace bazaar::platform {
class Database;
struct Event;
}  // namespace bazaar::platform

namespace bazaar::platform::pq {

// Text parameters; NULL is nullopt. Values are copied in, so temporaries are fine. The first few live
// inline: most statements take one to four, and a request should not pay an allocation for the list.
class Params {
 public:
  std::string add(std::string value);  // returns "$<n>"
  std::string add(std::int64_t value);
  std::string add_null();
  std::string add(const std::optional<std::string>& value);
  std::size_t size() const { return values_.size(); }
  // Pointers for libpq, valid while this object lives unchanged.
  boost::container::small_vector<const char*, 8> pointers() const;

 private:
  boost::container::small_vector<std::optional<std::string>, 4> values_;
};

// A result set, read as text. Row and column indexes are zero-based.
class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;  // "" for NULL
  std::string string(int row, int column) const { return std::string(text(row, column)); }
  std::optional<std::string> optional(int row, int column) const;
  std::int64_t integer(int row, int column) const;  // throws std::runtime_error when not an integer
  bool boolean(int row, int column) const;          // PostgreSQL's 't'
  std::int64_t affected_rows() const;

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

// A batch's results, one per statement in order; inline for the usual few.
using Results = boost::container::small_vector<Result, 4>;

// Runs one statement: one round trip.
Result exec(soci::session& s, std::string_view sql, const Params& params = {});

// A statement prepared once per connection. `name` must be unique in the process for this SQL text
// (e.g. "catalog_product_by_id_v1").
struct Prepared {
  const char* name;
  const char* sql;
};

// Executes `statement`, preparing it first on a connection that has not seen it yet.
Result exec_prepared(soci::session& s, const Prepared& statement, const Params& params = {});

// Statements sent together and answered together: one round trip for the lot (libpq pipeline mode), run
// as ONE implicit transaction — every statement commits, or none does and the first error is thrown. A
// later statement sees what earlier ones wrote. Nothing can be decided in C++ between the statements: a
// batch that depends on a condition checks it in SQL with platform.expect(...) (see
// migrations/platform/0002_expect.sql), which aborts the whole batch (is_expectation_failure).
class Pipeline {
 public:
  // Each returns the statement's index in run()'s results.
  std::size_t add(const Prepared& statement, Params params = {});
  std::size_t add(std::string sql, Params params = {});
  // Adds `event` to platform.outbox in this batch (as Tx::publish does in a transaction).
  std::size_t publish(const Event& event);
  bool published() const { return published_; }
  // Runs `f` once the batch has committed (in run(db, batch), on the calling coroutine's thread): for a
  // step that must know its writes are durable, e.g. the platform noting a response it stored.
  void on_commit(std::function<void()> f) { on_commit_.push_back(std::move(f)); }
  const std::vector<std::function<void()>>& commit_hooks() const { return on_commit_; }
  bool empty() const { return steps_.empty(); }
  // Blocking; on a pooled session outside any transaction.
  Results run(soci::session& s) const;

  struct Step {
    const Prepared* prepared = nullptr;  // or
    std::string sql;
    Params params;
  };
  const std::vector<Step>& steps() const { return steps_; }

 private:
  std::vector<Step> steps_;
  bool published_ = false;
  std::vector<std::function<void()>> on_commit_;
};

// Runs `batch` (one round trip) and, when it published events, wakes the dispatcher after the commit, as
// Database::transaction does; then its on_commit hooks. Like query(), on the calling I/O thread's own
// connections when it has one.
boost::asio::awaitable<Results> run(Database& db, Pipeline batch);

// Runs one statement, in its own implicit transaction: one round trip. On an I/O thread that the
// platform gave connections (Database::attach_io), it is sent on one of that thread's non-blocking
// connections, in pipeline mode and shared with the thread's other requests: no worker-thread hop, no
// connection held while waiting, and concurrent requests' statements travel together. Otherwise (before
// start, while reconnecting, database.async_connections = 0) it runs on the worker pool. Errors are the
// same either way (SQLSTATE-carrying exceptions; a lost connection or statement timeout is a 503).
boost::asio::awaitable<Result> query(Database& db, const Prepared& statement, Params params = {});
// The same for SQL that is not worth preparing (rare or built per call): planned for its actual values.
boost::asio::awaitable<Result> query(Database& db, std::string sql, Params params = {});

namespace detail {
boost::asio::awaitable<void> concurrently(boost::asio::awaitable<void> a, boost::asio::awaitable<void> b);
template <class T>
boost::asio::awaitable<void> into(boost::asio::awaitable<T> step, std::optional<T>* out) {
  out->emplace(co_await std::move(step));
}
}  // namespace detail

// Runs `a` and `b` at the same time and returns both results once both have ended; if either threw, the
// first exception is rethrown, also only once both have ended. For independent steps that cannot share a
// batch, such as two modules' facade calls (each its own transaction): on an I/O thread's connection both
// are sent before either waits, so their round trips overlap — the latency of one. On the worker pool they
// run on two sessions side by side.
template <class A, class B>
boost::asio::awaitable<std::pair<A, B>> concurrently(boost::asio::awaitable<A> a, boost::asio::awaitable<B> b) {
  std::optional<A> first;  // both outlive the steps: concurrently() returns only once both have ended
  std::optional<B> second;
  co_await detail::concurrently(detail::into(std::move(a), &first), detail::into(std::move(b), &second));
  co_return std::pair<A, B>{std::move(*first), std::move(*second)};
}

// How long a connection keeps its prepared statements (and their cached plans) before preparing them
// afresh: PostgreSQL keeps a generic plan made for the table sizes of a statement's first executions until
// the table's statistics change, so a table that was empty then and fills up fast (a new shop's orders, a
// queue) would be read with sequential scans until autovacuum's next ANALYZE. 15 s by default; process-wide.
void set_replan_after(std::chrono::milliseconds interval);
std::chrono::milliseconds replan_after();

// Whether `e` is platform.expect(...) failing: a batch's precondition did not hold.
bool is_expectation_failure(const std::exception& e);

// A PostgreSQL array literal of text elements ('{"a","b\"c"}'), for `CAST($1 AS text[])` and unnest().
std::string array_literal(const std::vector<std::string>& elements);
std::string array_literal(const std::vector<std::int64_t>& elements);

}  // namespace bazaar::platform::pq
