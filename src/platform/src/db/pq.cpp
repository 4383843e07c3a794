#include <platform/db.hpp>
#include <platform/log.hpp>
#include <platform/pq.hpp>

#include "async_connection.hpp"
#include "libpq_support.hpp"
#include "outbox_statement.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <libpq-fe.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace bazaar::platform::pq {

namespace asio = boost::asio;

namespace {
std::atomic<std::int64_t> replan_after_ms{15'000};
}  // namespace

void set_replan_after(std::chrono::milliseconds interval) { replan_after_ms = interval.count(); }
std::chrono::milliseconds replan_after() { return std::chrono::milliseconds(replan_after_ms.load(std::memory_order_relaxed)); }

namespace detail {

void log_notice(void*, const char* message) {
  std::string_view text(message);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  log::debug("database notice", {{"notice", text}});
}

void raise(PGconn* conn, const PGresult* r) {
  std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const std::string state = sqlstate(r);
  throw soci::postgresql_soci_error(message, state.size() == 5 ? state.c_str() : "08006");
}

Error database_unavailable(std::string internal) {
  Error e = Error::unavailable("The database is unavailable; try again shortly.", 2);
  e.internal = std::move(internal);
  return e;
}

}  // namespace detail

namespace {

PGconn* connection_of(soci::session& s) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
  if (backend == nullptr || backend->conn_ == nullptr) throw soci::soci_error("no database connection");
  PQsetNoticeProcessor(backend->conn_, detail::log_notice, nullptr);
  return backend->conn_;
}

using detail::raise;
using detail::sqlstate;
using detail::succeeded;

Result checked(PGconn* conn, PGresult* r) {
  Result result(r);  // owns r from here on, also when we throw
  if (r == nullptr || !succeeded(r)) raise(conn, r);
  return result;
}

// Which statements each connection of this thread has prepared. A pooled session never crosses threads,
// and the backend pid tells a reconnected session (which may reuse the old PGconn's address) apart.
struct PreparedOnConnection {
  int backend_pid = 0;
  std::unordered_set<std::string> names;
  std::chrono::steady_clock::time_point planned_at = std::chrono::steady_clock::now();
};
thread_local std::unordered_map<PGconn*, PreparedOnConnection> prepared_registry;

PreparedOnConnection& registry_entry(PGconn* conn) {
  // Entries of closed connections are never looked up again; a reconnecting pool must not grow this
  // forever. Forgetting is harmless: preparing a known name again is tolerated below.
  if (prepared_registry.size() > 64 && !prepared_registry.contains(conn)) prepared_registry.clear();
  auto& entry = prepared_registry[conn];
  const int pid = PQbackendPID(conn);
  if (entry.backend_pid != pid) {
    entry.backend_pid = pid;
    entry.names.clear();
  }
  return entry;
}

std::unordered_set<std::string>& prepared_names(PGconn* conn) { return registry_entry(conn).names; }

// A prepared statement keeps the generic plan made for the table sizes of its first executions until the
// table's statistics change, so a table that was empty then and fills up fast would be read with
// sequential scans until autovacuum's next ANALYZE. Like the I/O threads' connections
// (AsyncConnection::submit), a pooled connection prepares its statements afresh now and then: one
// round trip, outside transactions only. Only this registry's names: SOCI's own statements stay.
void replan_if_due(PGconn* conn) {
  auto& entry = registry_entry(conn);
  const auto now = std::chrono::steady_clock::now();
  if (now - entry.planned_at < replan_after() || PQtransactionStatus(conn) != PQTRANS_IDLE) return;
  entry.planned_at = now;
  if (entry.names.empty()) return;
  std::string sql;
  for (const auto& name : entry.names) sql += "DEALLOCATE \"" + name + "\";";
  entry.names.clear();
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) raise(conn, nullptr);
}

void prepare(PGconn* conn, const Prepared& st, int n_params) {
  PGresult* r = PQprepare(conn, st.name, st.sql, n_params, nullptr);
  // 42P05: this connection prepared it before the registry forgot; a name always stands for one SQL text.
  if (r != nullptr && !succeeded(r) && sqlstate(r) == "42P05" && PQtransactionStatus(conn) == PQTRANS_IDLE) {
    PQclear(r);
  } else {
    checked(conn, r);
  }
  prepared_names(conn).insert(st.name);
}

}  // namespace

std::string Params::add(std::string value) {
  values_.emplace_back(std::move(value));
  return "$" + std::to_string(values_.size());
}

std::string Params::add(std::int64_t value) { return add(std::to_string(value)); }

std::string Params::add_null() {
  values_.emplace_back(std::nullopt);
  return "$" + std::to_string(values_.size());
}

std::string Params::add(const std::optional<std::string>& value) { return value ? add(*value) : add_null(); }

boost::container::small_vector<const char*, 8> Params::pointers() const {
  boost::container::small_vector<const char*, 8> out;
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

void Result::Clear::operator()(pg_result* r) const { PQclear(r); }

Result::Result(pg_result* result) : result_(result) {}

int Result::rows() const { return PQntuples(result_.get()); }
int Result::columns() const { return PQnfields(result_.get()); }
bool Result::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) == 1; }

std::string_view Result::text(int row, int column) const {
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::optional(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return string(row, column);
}

std::int64_t Result::integer(int row, int column) const {
  const auto t = text(row, column);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) {
    throw std::runtime_error("pq: column " + std::to_string(column) + " is not an integer");
  }
  return v;
}

bool Result::boolean(int row, int column) const { return text(row, column) == "t"; }

std::int64_t Result::affected_rows() const {
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::stoll(n) : 0;
}

Result exec(soci::session& s, std::string_view sql, const Params& params) {
  PGconn* conn = connection_of(s);
  const std::string text(sql);
  const auto values = params.pointers();
  return checked(conn, PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                    nullptr, nullptr, 0));
}

Result exec_prepared(soci::session& s, const Prepared& statement, const Params& params) {
  PGconn* conn = connection_of(s);
  replan_if_due(conn);
  const auto values = params.pointers();
  const int n = static_cast<int>(values.size());
  if (!prepared_names(conn).contains(statement.name)) prepare(conn, statement, n);
  PGresult* r = PQexecPrepared(conn, statement.name, n, values.data(), nullptr, nullptr, 0);
  // The registry can only be wrong after the server forgot the statement (DISCARD ALL, a pooler): prepare
  // again and retry, which is safe outside a transaction (inside one the error has already aborted it).
  if (r != nullptr && !succeeded(r) && sqlstate(r) == "26000" && PQtransactionStatus(conn) == PQTRANS_IDLE) {
    PQclear(r);
    prepared_names(conn).erase(statement.name);
    prepare(conn, statement, n);
    r = PQexecPrepared(conn, statement.name, n, values.data(), nullptr, nullptr, 0);
  }
  return checked(conn, r);
}

// ---------------------------------------------------------------------------------------------- Pipeline

std::size_t Pipeline::add(const Prepared& statement, Params params) {
  steps_.push_back({&statement, {}, std::move(params)});
  return steps_.size() - 1;
}

std::size_t Pipeline::add(std::string sql, Params params) {
  steps_.push_back({nullptr, std::move(sql), std::move(params)});
  return steps_.size() - 1;
}

std::size_t Pipeline::publish(const Event& event) {
  published_ = true;
  return add(platform::detail::kOutboxInsert, platform::detail::outbox_params(event));
}

namespace {

// Leaves pipeline mode however run() ends, so the pooled connection is usable by the next job.
struct PipelineMode {
  PGconn* conn;
  explicit PipelineMode(PGconn* c) : conn(c) {
    if (PQenterPipelineMode(conn) != 1) raise(conn, nullptr);
  }
  ~PipelineMode() { PQexitPipelineMode(conn); }
  PipelineMode(const PipelineMode&) = delete;
  PipelineMode& operator=(const PipelineMode&) = delete;
};

// Reads the next statement's result and the NULL that ends it. nullptr when the connection broke.
PGresult* next_result(PGconn* conn) {
  PGresult* r = PQgetResult(conn);
  if (r == nullptr) return nullptr;
  while (PGresult* extra = PQgetResult(conn)) PQclear(extra);  // one statement, one result set
  return r;
}

}  // namespace

Results Pipeline::run(soci::session& s) const {
  PGconn* conn = connection_of(s);
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) throw std::logic_error("pq::Pipeline::run inside a transaction");
  replan_if_due(conn);
  // Statements this connection has not prepared yet are prepared first (once per connection, like exec_prepared).
  for (const auto& step : steps_) {
    if (step.prepared && !prepared_names(conn).contains(step.prepared->name)) {
      prepare(conn, *step.prepared, static_cast<int>(step.params.size()));
    }
  }
  Results results;
  results.reserve(steps_.size());
  PGresult* failure = nullptr;  // the first error; later statements only say "aborted"
  {
    PipelineMode mode(conn);
    for (const auto& step : steps_) {
      const auto values = step.params.pointers();
      const int n = static_cast<int>(values.size());
      const int sent = step.prepared
          ? PQsendQueryPrepared(conn, step.prepared->name, n, values.data(), nullptr, nullptr, 0)
          : PQsendQueryParams(conn, step.sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
      if (sent != 1) raise(conn, nullptr);
    }
    if (PQpipelineSync(conn) != 1) raise(conn, nullptr);
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      PGresult* r = next_result(conn);
      if (r == nullptr) raise(conn, nullptr);
      if (!succeeded(r)) {  // the failing statement, then PGRES_PIPELINE_ABORTED for the rest
        if (failure == nullptr) failure = r; else PQclear(r);
        results.emplace_back(nullptr);
        continue;
      }
      results.emplace_back(r);
    }
    PGresult* sync = PQgetResult(conn);  // PGRES_PIPELINE_SYNC: the implicit transaction has ended
    if (sync == nullptr || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
      if (sync) PQclear(sync);
      if (failure) PQclear(failure);
      raise(conn, nullptr);
    }
    PQclear(sync);
  }
  if (failure) checked(conn, failure);  // throws (the whole batch rolled back), and frees it
  return results;
}

asio::awaitable<Results> run(Database& db, Pipeline batch) {
  Results results;
  if (auto* connection = db.async_connection(co_await asio::this_coro::executor)) {
    results = co_await detail::submit(*connection, batch.steps());
  } else {
    co_await db.run([&](soci::session& s) { results = batch.run(s); });
  }
  if (batch.published()) db.events_committed();
  for (const auto& hook : batch.commit_hooks()) hook();
  co_return results;
}

// Both steps start on this coroutine's executor, one after the other, each running up to its first wait (a
// batch written to this thread's connection) — inside one Flight, so that both batches leave together.
// wait_for_all: neither is cancelled when the other fails, so nothing is left half-way and unobserved.
asio::awaitable<void> detail::concurrently(asio::awaitable<void> a, asio::awaitable<void> b) {
  const auto executor = co_await asio::this_coro::executor;
  auto group = asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(a), asio::deferred),
                                                       asio::co_spawn(executor, std::move(b), asio::deferred));
  using Done = void(std::array<std::size_t, 2>, std::exception_ptr, std::exception_ptr);
  auto [order, a_failed, b_failed] = co_await asio::async_initiate<const asio::use_awaitable_t<>&, Done>(
      [&group](auto done) {
        Flight flight;
        group.async_wait(asio::experimental::wait_for_all(), std::move(done));
      },
      asio::use_awaitable);
  if (a_failed) std::rethrow_exception(a_failed);
  if (b_failed) std::rethrow_exception(b_failed);
}

namespace {

// One statement: on the I/O thread's connection when it has one, else on the pool.
asio::awaitable<Result> query_step(Database& db, Pipeline::Step step) {
  if (auto* connection = db.async_connection(co_await asio::this_coro::executor)) {
    co_return std::move((co_await detail::submit(*connection, {&step, 1})).front());
  }
  co_return co_await db.run([&](soci::session& s) {
    return step.prepared ? exec_prepared(s, *step.prepared, step.params) : exec(s, step.sql, step.params);
  });
}

}  // namespace

asio::awaitable<Result> query(Database& db, const Prepared& statement, Params params) {
  return query_step(db, {&statement, {}, std::move(params)});
}

asio::awaitable<Result> query(Database& db, std::string sql, Params params) {
  return query_step(db, {nullptr, std::move(sql), std::move(params)});
}

bool is_expectation_failure(const std::exception& e) { return sqlstate_of(e) == "BZ001"; }

std::string array_literal(const std::vector<std::string>& elements) { return to_pg_array(elements); }

std::string array_literal(const std::vector<std::int64_t>& elements) { return to_pg_int_array(elements); }

}  // namespace bazaar::platform::pq
