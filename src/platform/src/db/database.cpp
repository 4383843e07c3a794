#include <platform/config.hpp>
#include <platform/db.hpp>
#include <platform/log.hpp>
#include <platform/metrics.hpp>

#include "async_connection.hpp"
#include "libpq_support.hpp"
#include "outbox_statement.hpp"

#include <soci/postgresql/soci-postgresql.h>

#include <fmt/format.h>

#include <poll.h>

namespace bazaar::platform {

namespace asio = boost::asio;

namespace {

// SOCI mangles URI-style connection strings, so the URL (URI or key=value form) is parsed by libpq
// itself and handed to SOCI as quoted key=value pairs. connect_timeout and TCP keepalives bound how long a
// dead server can hold a worker (an Asio timer cannot interrupt a blocking libpq call, STYLE.md §4).
std::string to_keyword_conninfo(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string message = error ? error : "unparseable";
    if (error) PQfreemem(error);
    throw ConfigError(fmt::format("database.url is not a valid PostgreSQL connection string: {}", message));
  }
  std::string out;
  bool has_timeout = false, has_keepalive = false, has_name = false;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view key(o->keyword);
    has_timeout = has_timeout || key == "connect_timeout";
    has_keepalive = has_keepalive || key == "keepalives_idle";
    has_name = has_name || key == "application_name";
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') value.push_back('\\');
      value.push_back(*c);
    }
    out += fmt::format("{}='{}' ", key, value);
  }
  PQconninfoFree(options);
  if (!has_timeout) out += "connect_timeout=3 ";
  if (!has_keepalive) out += "keepalives_idle=30 ";
  if (!has_name) out += "application_name=bazaar";
  return out;
}

bool connection_ok(soci::session& s) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
  return backend && backend->conn_ && PQstatus(backend->conn_) == CONNECTION_OK;
}

// An idle connection that the server (or a hop between) closed still reports CONNECTION_OK until it is
// used, and its first statement would fail. The server owes an idle pool connection nothing, so a
// readable socket means a termination notice or end-of-file (at worst a stray notice): connect afresh.
// One poll() per job, against a statement that costs a round trip.
bool idle_connection_ok(soci::session& s) {
  if (!connection_ok(s)) return false;
  pollfd fd{PQsocket(static_cast<soci::postgresql_session_backend*>(s.get_backend())->conn_), POLLIN, 0};
  return ::poll(&fd, 1, 0) == 0;
}

using pq::detail::database_unavailable;

}  // namespace

std::string sqlstate_of(const std::exception& e) {
  if (auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) return pg->sqlstate();
  return {};
}

bool is_unique_violation(const std::exception& e) { return sqlstate_of(e) == "23505"; }

std::string to_pg_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

Database::Database(DatabaseOptions options) : options_(std::move(options)) {
  options_.url = to_keyword_conninfo(options_.url);
  sessions_.resize(options_.pool_size);
  WorkerPoolOptions pool_options;
  pool_options.name = "database";
  pool_options.threads = options_.pool_size;
  pool_options.max_queue = options_.max_queue;
  pool_options.max_wait = options_.acquire_timeout;
  pool_ = std::make_unique<WorkerPool>(pool_options);
}

Database::~Database() {
  detach_io();
  stop();
}

void Database::stop() {
  if (pool_) pool_->stop();
}

void Database::attach_io(const std::vector<asio::io_context*>& contexts) {
  if (options_.async_connections == 0) return;
  lanes_ = std::make_unique<pq::detail::AsyncLanes>(contexts, options_.async_connections, options_.url,
                                                    options_.statement_timeout, *pool_);
  lanes_->connect_now();
}

void Database::detach_io() { lanes_.reset(); }

pq::detail::AsyncConnection* Database::async_connection(const asio::any_io_executor& executor) {
  if (!lanes_) return nullptr;
  auto* lane = lanes_->lane_for(executor);
  auto* connection = lane ? lane->pick() : nullptr;
  ++(connection ? lanes_->counters().batches : lanes_->counters().fallbacks);
  return connection;
}

soci::session& Database::session_for(std::size_t worker) {
  auto& slot = sessions_.at(worker);
  if (slot && !idle_connection_ok(*slot)) slot.reset();  // reconnect after the server went away
  if (!slot) {
    try {
      slot = std::make_unique<soci::session>(soci::postgresql, options_.url);
      // A session-wide deadline instead of SET LOCAL per transaction: one round trip less per transaction.
      *slot << fmt::format("SET statement_timeout = {}", options_.statement_timeout.count());
    } catch (const std::exception& e) {
      throw ErrorException(database_unavailable(fmt::format("connect failed: {}", e.what())));
    }
  }
  return *slot;
}

asio::awaitable<void> Database::run_erased(std::function<void(soci::session&)> f) {
  co_await pool_->run_erased([this, &f](std::size_t worker) {
    soci::session& s = session_for(worker);
    try {
      f(s);
    } catch (const ErrorException&) {
      throw;
    } catch (const soci::soci_error& e) {
      if (!connection_ok(s)) {
        sessions_[worker].reset();
        throw ErrorException(database_unavailable(e.what()));
      }
      if (sqlstate_of(e) == "57014") throw ErrorException(database_unavailable("statement timeout"));
      throw;
    }
  });
}

void Database::in_transaction(soci::session& s, const std::function<void(Tx&)>& f) {
  for (int attempt = 1;; ++attempt) {
    Tx tx(s);
    s.begin();
    try {
      f(tx);
      s.commit();
    } catch (const std::exception& e) {
      try {
        s.rollback();
      } catch (...) {
        // The connection is gone; run_erased notices and reconnects next time.
      }
      const auto state = sqlstate_of(e);
      if (attempt == 1 && (state == "40001" || state == "40P01")) continue;
      throw;
    }
    for (auto& hook : tx.after_commit_hooks()) hook();
    if (tx.published() && on_events_committed_) on_events_committed_();
    return;
  }
}

void Database::run_sync(const std::function<void(soci::session&)>& f) {
  pool_->run_sync([this, &f](std::size_t worker) { f(session_for(worker)); });
}

void Database::transaction_sync(const std::function<void(Tx&)>& f) {
  run_sync([this, &f](soci::session& s) { in_transaction(s, f); });
}

asio::awaitable<bool> Database::ping() {
  try {
    co_await run([](soci::session& s) {
      int one = 0;
      s << "SELECT 1", soci::into(one);
    });
    co_return true;
  } catch (const std::exception& e) {
    log::warn("database ping failed", {{"error", e.what()}});
    co_return false;
  }
}

void Database::register_metrics(Metrics& metrics) {
  WorkerPool* pool = pool_.get();
  metrics.gauge_fn("bazaar_db_pool_size", "Database connections (one per worker)",
                   [pool] { return static_cast<double>(pool->threads()); });
  metrics.gauge_fn("bazaar_db_pool_busy", "Database connections in use", [pool] { return static_cast<double>(pool->busy()); });
  metrics.gauge_fn("bazaar_db_pool_queued", "Jobs waiting for a database connection",
                   [pool] { return static_cast<double>(pool->queued()); });
  metrics.gauge_fn("bazaar_db_pool_rejected_total", "Jobs refused with 503 (queue full or waited too long)",
                   [pool] { return static_cast<double>(pool->rejected()); });
  metrics.gauge_fn("bazaar_db_pool_wait_seconds_total", "Total time jobs waited for a connection",
                   [pool] { return static_cast<double>(pool->total_wait_us()) / 1e6; });
  // The I/O threads' own connections (attach_io); read through `this` because they exist only once started.
  auto lane_counter = [this](auto member) {
    return [this, member] { return lanes_ ? static_cast<double>((lanes_->counters().*member).load()) : 0.0; };
  };
  using C = pq::detail::AsyncCounters;
  metrics.gauge_fn("bazaar_db_async_connections", "Non-blocking connections of the I/O threads, connected",
                   lane_counter(&C::connected));
  metrics.gauge_fn("bazaar_db_async_in_flight", "Batches sent on I/O threads' connections, awaiting results",
                   lane_counter(&C::in_flight));
  metrics.gauge_fn("bazaar_db_async_batches_total", "Statements or batches sent on I/O threads' connections",
                   lane_counter(&C::batches));
  metrics.gauge_fn("bazaar_db_async_fallbacks_total", "Statements for I/O threads' connections run on the pool instead",
                   lane_counter(&C::fallbacks));
}

void Tx::publish(const Event& event) {
  pq::exec_prepared(session_, detail::kOutboxInsert, detail::outbox_params(event));
  published_ = true;
}

}  // namespace bazaar::platform
