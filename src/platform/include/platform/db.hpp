#pragma once
// Database access for modules: `co_await db.run(...)` and `co_await db.transaction(...)` run blocking SOCI
// work on a bounded pool of worker threads, one PostgreSQL connection per worker, and resume the caller on
// its own executor. A session never crosses threads and is never held across a co_await.
#include <platform/blocking.hpp>
#include <platform/events.hpp>

#include <soci/soci.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace bazaar::platform {

class Metrics;
namespace pq::detail {
class AsyncLanes;
class AsyncConnection;
}  // namespace pq::detail

struct DatabaseOptions {
  std::string url;
  std::size_t pool_size = 4;
  std::size_t max_queue = 2048;
  std::chrono::milliseconds acquire_timeout{2000};    // longest wait for a free connection → 503
  std::chrono::milliseconds statement_timeout{5000};  // SET statement_timeout per connection
  // Non-blocking connections per I/O thread for pq::query and pq::run (attach_io); 0 = every statement
  // on the worker pool.
  std::size_t async_connections = 1;
};

// A transaction in progress: the session plus what must happen with it (events, post-commit hooks).
class Tx {
 public:
  explicit Tx(soci::session& s) : session_(s) {}
  soci::session& sql() { return session_; }
  // Adds the event to platform.outbox in this transaction.
  void publish(const Event& event);
  template <class Contract>
  void publish(const Contract& contract, std::string aggregate_id) {
    publish(make_event(contract, std::move(aggregate_id)));
  }
  // Runs after a successful commit (cache invalidation, waking workers). Never runs on rollback.
  void after_commit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }
  bool published() const { return published_; }
  std::vector<std::function<void()>>& after_commit_hooks() { return after_commit_; }

 private:
  soci::session& session_;
  bool published_ = false;
  std::vector<std::function<void()>> after_commit_;
};

class Database {
 public:
  explicit Database(DatabaseOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // f(soci::session&) in autocommit mode.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, soci::session&>> run(F f) {
    using R = std::invoke_result_t<F&, soci::session&>;
    if constexpr (std::is_void_v<R>) {
      co_await run_erased([&](soci::session& s) { f(s); });
    } else {
      std::optional<R> out;
      co_await run_erased([&](soci::session& s) { out.emplace(f(s)); });
      co_return std::move(*out);
    }
  }

  // f(Tx&) inside BEGIN … COMMIT; an exception rolls back and propagates. Serialization failures and
  // deadlocks (40001, 40P01) are retried once. After-commit hooks run on the worker after COMMIT.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&, Tx&>> transaction(F f) {
    using R = std::invoke_result_t<F&, Tx&>;
    if constexpr (std::is_void_v<R>) {
      co_await run_erased([&](soci::session& s) { in_transaction(s, [&](Tx& tx) { f(tx); }); });
    } else {
      std::optional<R> out;
      co_await run_erased([&](soci::session& s) { in_transaction(s, [&](Tx& tx) { out.emplace(f(tx)); }); });
      co_return std::move(*out);
    }
  }

  // Blocking variants for the command line and tests (never on an I/O thread).
  void run_sync(const std::function<void(soci::session&)>& f);
  void transaction_sync(const std::function<void(Tx&)>& f);

  boost::asio::awaitable<void> run_erased(std::function<void(soci::session&)> f);
  void in_transaction(soci::session& s, const std::function<void(Tx&)>& f);

  // Called after any transaction that published events commits (wakes the dispatcher).
  void on_events_committed(std::function<void()> fn) { on_events_committed_ = std::move(fn); }
  // For work that commits events outside transaction() (pq::run of a pipelined batch).
  void events_committed() {
    if (on_events_committed_) on_events_committed_();
  }
  // SELECT 1 with a short timeout; false when the database does not answer.
  boost::asio::awaitable<bool> ping();

  // Gives each I/O thread (one io_context each, run by that thread alone) its own non-blocking
  // connections, connected now. Before the threads run; detach_io() once they have stopped.
  void attach_io(const std::vector<boost::asio::io_context*>& contexts);
  void detach_io();
  // A connection of the I/O thread that `executor` runs on, or nullptr (then use the pool).
  pq::detail::AsyncConnection* async_connection(const boost::asio::any_io_executor& executor);

  const DatabaseOptions& options() const { return options_; }
  WorkerPool& pool() { return *pool_; }
  void register_metrics(Metrics& metrics);
  void stop();

 private:
  soci::session& session_for(std::size_t worker);

  DatabaseOptions options_;
  std::vector<std::unique_ptr<soci::session>> sessions_;  // one per worker, connected lazily
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<pq::detail::AsyncLanes> lanes_;
  std::function<void()> on_events_committed_;
};

// A nullable text parameter: keep the object alive until the statement has executed.
struct Nullable {
  std::string value;
  soci::indicator indicator = soci::i_null;
  Nullable() = default;
  explicit Nullable(const std::optional<std::string>& v) : value(v.value_or("")), indicator(v ? soci::i_ok : soci::i_null) {}
};
// `name` must be the caller's temporary: SOCI keeps a reference to it until the statement runs.
inline auto use_nullable(Nullable& n, const std::string& name) { return soci::use(n.value, n.indicator, name); }
inline std::optional<std::string> optional_string(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  return r.get<std::string>(i);
}

// A PostgreSQL array literal ({"a","b\"c"}) for binding a list as one text parameter, cast in SQL with
// CAST(:p AS text[]) / uuid[] / int[] / bigint[]. Batches become one statement (unnest) instead of N.
std::string to_pg_array(const std::vector<std::string>& items);
template <class Int>
std::string to_pg_int_array(const std::vector<Int>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(items[i]);
  }
  out.push_back('}');
  return out;
}

// SQLSTATE of a database exception ("23505"), or "" when it is not a PostgreSQL error.
std::string sqlstate_of(const std::exception& e);
bool is_unique_violation(const std::exception& e);

}  // namespace bazaar::platform
