#include "async_connection.hpp"

#include "libpq_support.hpp"

#include <platform/blocking.hpp>
#include <platform/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace bazaar::platform::pq::detail {

namespace asio = boost::asio;

namespace {

std::exception_ptr unavailable(std::string why) {
  return std::make_exception_ptr(ErrorException(database_unavailable(std::move(why))));
}

// The error a failed batch reports: the same exceptions as the blocking path (Database::run_erased).
std::exception_ptr failure_of(PGconn* conn, const PGresult* failure) {
  if (sqlstate(failure) == "57014") return unavailable("statement timeout");
  try {
    raise(conn, failure);
  } catch (...) {
    return std::current_exception();
  }
}

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// Blocking (runs on a worker): a connection ready for AsyncConnection.
PGconn* connect_blocking(const std::string& conninfo, std::chrono::milliseconds statement_timeout) {
  std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(conn ? PQerrorMessage(conn.get()) : "out of memory");
  }
  const std::string set_timeout = fmt::format("SET statement_timeout = {}", statement_timeout.count());
  PGresult* r = PQexec(conn.get(), set_timeout.c_str());
  const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) throw std::runtime_error(PQerrorMessage(conn.get()));
  PQsetNoticeProcessor(conn.get(), log_notice, nullptr);
  if (PQsetnonblocking(conn.get(), 1) != 0 || PQenterPipelineMode(conn.get()) != 1) {
    throw std::runtime_error(PQerrorMessage(conn.get()));
  }
  return conn.release();
}

}  // namespace

bool is_read_only(std::string_view sql) {
  std::string text;  // lower case, each run of white space one space
  text.reserve(sql.size());
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!text.empty() && text.back() != ' ') text.push_back(' ');
    } else {
      text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!text.starts_with("select ")) return false;
  for (std::string_view locking : {" for update", " for no key update", " for share", " for key share", "advisory",
                                   "nextval(", "setval("}) {
    if (text.find(locking) != std::string::npos) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------ AsyncConnection

AsyncConnection::AsyncConnection(asio::io_context& io, PGconn* conn, AsyncCounters& counters)
    : io_(io), conn_(conn), socket_(io, PQsocket(conn)), counters_(counters) {
  ++counters_.connected;
}

AsyncConnection::~AsyncConnection() { give_up("connection shut down"); }

void AsyncConnection::start() { watch_readable(); }

// The socket is always watched, also when idle: a server that closes an idle connection is noticed at
// once and the slot reconnects, instead of the next request failing on it.
void AsyncConnection::watch_readable() {
  socket_.async_wait(asio::posix::descriptor_base::wait_read, [weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (self && !ec && self->usable() && self->consume_input()) self->watch_readable();
  });
}

bool AsyncConnection::closed_while_idle() {
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  if (::poll(&fd, 1, 0) == 0) return false;
  consume_input();  // a termination notice or end-of-file; at worst a harmless notice
  return !usable();
}

bool AsyncConnection::consume_input() {
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    close(PQerrorMessage(conn_));
    return false;
  }
  read_results();
  deliver_finished();
  return usable();  // a resumed request may have closed it too
}

void AsyncConnection::submit(std::span<const Pipeline::Step> steps, BatchHandler handler) {
  if (!usable()) {
    complete(std::move(handler), unavailable("connection closed"), {});
    return;
  }
  send(steps, Waiter(std::move(handler)), /*may_group=*/true);
}

bool AsyncConnection::lone_read(std::span<const Pipeline::Step> steps) const {
  if (steps.size() != 1 || !steps[0].prepared) return false;
  const auto known = prepared_.find(std::string_view(steps[0].prepared->name));
  return known != prepared_.end() ? known->second : is_read_only(steps[0].prepared->sql);
}

void AsyncConnection::send(std::span<const Pipeline::Step> steps, Waiter waiter, bool may_group) {
  Flight::board(*this);
  Pending p{std::move(waiter), steps, {}, {}, nullptr, nullptr};
  p.results.reserve(steps.size());
  bool sent = true;
  // Prepared afresh every pq::replan_after() (see there why). Statements still queued before the
  // DEALLOCATE run first: the pipeline keeps order. Never inside a group: a DEALLOCATE rolled back with
  // the group would leave statements prepared that this connection takes for gone.
  const auto now = std::chrono::steady_clock::now();
  const bool replan = now - planned_at_ >= replan_after();
  const bool grouped = may_group && !replan && lone_read(steps);
  if (!grouped) close_group();  // a batch has a transaction of its own
  if (replan) {
    planned_at_ = now;
    if (!prepared_.empty()) {
      prepared_.clear();
      sent = PQsendQueryParams(conn_, "DEALLOCATE ALL", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      p.commands.push_back({-1, nullptr});
    }
  }
  for (std::size_t i = 0; i < steps.size() && sent; ++i) {
    const auto& step = steps[i];
    const auto values = step.params.pointers();
    const int n = static_cast<int>(values.size());
    // A statement new to this connection is prepared in the same flight, ahead of its first use.
    if (step.prepared && !prepared_.contains(std::string_view(step.prepared->name))) {
      sent = PQsendPrepare(conn_, step.prepared->name, step.prepared->sql, n, nullptr) == 1;
      prepared_.emplace(step.prepared->name, is_read_only(step.prepared->sql));
      p.commands.push_back({-1, step.prepared->name});
    }
    sent = sent && (step.prepared ? PQsendQueryPrepared(conn_, step.prepared->name, n, values.data(), nullptr, nullptr, 0)
                                  : PQsendQueryParams(conn_, step.sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0)) == 1;
    p.commands.push_back({static_cast<int>(i), nullptr});
    p.results.emplace_back(nullptr);
  }
  if (grouped) {
    p.ends_group = false;
    group_open_ = true;
  } else {
    sent = sent && PQpipelineSync(conn_) == 1;
  }
  pending_.push_back(std::move(p));
  ++counters_.in_flight;
  if (!sent) {
    close(PQerrorMessage(conn_));  // libpq's queue no longer matches ours: give the connection up
    return;
  }
  if (!grouped) {
    flush();
  } else if (!group_sync_posted_) {  // after the reads of this turn: handlers queued before it run first
    group_sync_posted_ = true;
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->group_sync_posted_ = false;
        self->close_group();
      }
    });
  }
}

void AsyncConnection::close_group() {
  if (!group_open_ || !usable()) return;
  group_open_ = false;
  pending_.back().ends_group = true;  // reads only join an open group, so the last one sent is its last
  if (PQpipelineSync(conn_) != 1) {
    close(PQerrorMessage(conn_));
    return;
  }
  flush();
}

// Results arrive as: for each command its result(s) and then a NULL; for a Sync one PIPELINE_SYNC result
// (no NULL). After an error the remaining commands answer PIPELINE_ABORTED until the Sync.
bool AsyncConnection::read_results() {
  while (!pending_.empty()) {
    if (PQisBusy(conn_)) return true;  // the rest has not arrived yet
    PGresult* r = PQgetResult(conn_);
    if (r != nullptr && PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      if (!finish_group()) {
        close("a Sync out of step with the statements sent");
        return false;
      }
      continue;
    }
    if (reading_ >= pending_.size()) {
      if (r) PQclear(r);
      close("more results than statements");
      return false;
    }
    Pending& p = pending_[reading_];
    if (r == nullptr) {
      if (!p.command_answered) {  // out of step with libpq: never guess which result is whose
        close("unexpected end of results");
        return false;
      }
      ++p.command;
      p.command_answered = false;
      // A read in a group is answered: what follows is the next read's, the Sync comes after the group.
      if (p.command == p.commands.size() && !p.ends_group) ++reading_;
      continue;
    }
    if (p.command >= p.commands.size()) {
      PQclear(r);
      close("more results than statements");
      return false;
    }
    p.command_answered = true;
    record(p, r);
  }
  return true;
}

void AsyncConnection::record(Pending& p, PGresult* r) {
  const Command& command = p.commands[p.command];
  if (succeeded(r)) {
    if (command.step >= 0) {
      p.results[static_cast<std::size_t>(command.step)] = Result(r);
    } else {
      PQclear(r);
    }
    return;
  }
  if (command.prepared_name) {
    if (auto it = prepared_.find(std::string_view(command.prepared_name)); it != prepared_.end()) prepared_.erase(it);
  }
  if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
    p.aborted = true;
    PQclear(r);
  } else if (p.failure) {
    PQclear(r);
  } else {
    p.failure.reset(r);
  }
}

// The batches up to the first that ends a group are done: their implicit transaction has ended. When a
// read of a group failed, the reads after it were skipped (PIPELINE_ABORTED): each is sent again, alone.
// The reads before it keep their answers: the rollback undid nothing, as they changed nothing.
bool AsyncConnection::finish_group() {
  std::size_t size = 0;
  while (size < pending_.size() && !pending_[size].ends_group) ++size;
  if (size == pending_.size()) return false;
  ++size;
  for (std::size_t i = 0; i < size; ++i) {
    if (pending_[i].command != pending_[i].commands.size()) return false;
  }
  boost::container::small_vector<Pending, 1> again;
  for (std::size_t i = 0; i < size; ++i) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    --counters_.in_flight;
    if (p.failure) {
      p.error = failure_of(conn_, p.failure.get());
    } else if (p.aborted) {  // only a group's reads are skipped for another batch's error
      again.push_back(std::move(p));
      continue;
    }
    finished_.push_back(std::move(p));
  }
  reading_ = 0;
  for (auto& p : again) {
    if (usable()) {
      send(p.steps, std::move(p.waiter), /*may_group=*/false);
    } else {
      complete(std::move(p.waiter).take(), unavailable("connection closed"), {});
    }
  }
  return true;
}

// The waiting coroutines are resumed here, once libpq's results have been read, never from inside that
// loop: a resumed request may submit to this connection again, or close it. They run on this same thread
// (a lane serves only its own thread's requests), as asio's own completions do — without a post each.
// A call made while resuming (closed_while_idle) leaves what finished meanwhile to the outer loop.
void AsyncConnection::deliver_finished() {
  if (delivering_) return;
  delivering_ = true;
  for (std::size_t i = 0; i < finished_.size(); ++i) {
    Pending p = std::move(finished_[i]);  // the vector may grow while `p` resumes its request
    if (p.error) {
      std::move(p.waiter).take()(std::move(p.error), Results{});
    } else {
      std::move(p.waiter).take()(nullptr, std::move(p.results));
    }
  }
  finished_.clear();
  delivering_ = false;
}

// Posted, never called inline: for the failures found while submitting, whose handler must not run
// inside the initiating call.
void AsyncConnection::complete(BatchHandler handler, std::exception_ptr error, Results results) {
  asio::post(io_, [handler = std::move(handler), error = std::move(error), results = std::move(results)]() mutable {
    std::move(handler)(std::move(error), std::move(results));
  });
}

void AsyncConnection::flush() {
  const int state = PQflush(conn_);
  if (state < 0) {
    close(PQerrorMessage(conn_));
  } else if (state == 1 && !waiting_writable_) {  // the socket buffer is full: finish when it drains
    waiting_writable_ = true;
    socket_.async_wait(asio::posix::descriptor_base::wait_write, [weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->waiting_writable_ = false;
      if (!ec && self->usable()) self->flush();
    });
  }
}

void AsyncConnection::cork(bool on) {
  if (!usable()) return;
  const int value = on ? 1 : 0;
  // Fails harmlessly on a Unix socket: batches then leave one by one, as without a Flight.
  (void)::setsockopt(PQsocket(conn_), IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

void AsyncConnection::close(const std::string& why) {
  if (!conn_) return;
  log::warn("database connection of an I/O thread closed", {{"reason", why}});
  give_up(why);
}

void AsyncConnection::give_up(const std::string& why) {
  if (!conn_) return;
  socket_.release();  // libpq owns the descriptor
  PQfinish(conn_);
  conn_ = nullptr;
  --counters_.connected;
  group_open_ = false;
  reading_ = 0;
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    --counters_.in_flight;
    complete(std::move(p.waiter).take(), unavailable(why), {});
  }
}

// A non-null exception_ptr is rethrown at the co_await.
asio::awaitable<Results> submit(AsyncConnection& connection, std::span<const Pipeline::Step> steps) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Results)>(
      [&](BatchHandler handler) { connection.submit(steps, std::move(handler)); }, asio::use_awaitable);
}

// ------------------------------------------------------------------------------------------------- Flight

namespace {
thread_local Flight* current_flight = nullptr;
}  // namespace

Flight::Flight() : outermost_(current_flight == nullptr) {
  if (outermost_) current_flight = this;
}

Flight::~Flight() {
  if (!outermost_) return;
  current_flight = nullptr;
  for (auto& connection : corked_) connection->cork(false);  // the kernel sends what it held, at once
}

void Flight::board(AsyncConnection& connection) {
  if (current_flight == nullptr) return;
  auto& corked = current_flight->corked_;
  if (std::any_of(corked.begin(), corked.end(), [&](const auto& c) { return c.get() == &connection; })) return;
  connection.cork(true);
  corked.push_back(connection.shared_from_this());
}

// --------------------------------------------------------------------------------------------------- Lane

Lane::Lane(asio::io_context& io, std::size_t size, std::string conninfo, std::chrono::milliseconds statement_timeout,
           WorkerPool& connect_pool, AsyncCounters& counters)
    : io_(io),
      conninfo_(std::move(conninfo)),
      statement_timeout_(statement_timeout),
      connect_pool_(connect_pool),
      counters_(counters),
      slots_(size),
      connecting_(size, false),
      retry_at_(size) {}

AsyncConnection* Lane::pick() {
  AsyncConnection* best = nullptr;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto& slot = slots_[i];
    if (slot && (!slot->usable() || (slot->in_flight() == 0 && slot->closed_while_idle()))) slot.reset();
    if (!slot) {
      if (!connecting_[i] && std::chrono::steady_clock::now() >= retry_at_[i]) {
        connecting_[i] = true;
        asio::co_spawn(io_, reconnect(i), asio::detached);
      }
      continue;
    }
    if (!best || slot->in_flight() < best->in_flight()) best = slot.get();
  }
  return best;
}

void Lane::install(std::size_t slot, PGconn* conn) {
  slots_[slot] = std::make_shared<AsyncConnection>(io_, conn, counters_);
  slots_[slot]->start();
}

asio::awaitable<void> Lane::reconnect(std::size_t slot) {
  try {
    PGconn* conn = co_await connect_pool_.run([this] { return connect_blocking(conninfo_, statement_timeout_); });
    install(slot, conn);
  } catch (const std::exception& e) {
    retry_at_[slot] = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    log::warn("database connection of an I/O thread failed", {{"error", e.what()}});
  }
  connecting_[slot] = false;
}

void Lane::connect_now() {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    try {
      install(i, connect_blocking(conninfo_, statement_timeout_));
    } catch (const std::exception& e) {  // served by the pool until a later pick() reconnects
      log::warn("database connection of an I/O thread failed", {{"error", e.what()}});
    }
  }
}

// ------------------------------------------------------------------------------------------------ Lanes

AsyncLanes::AsyncLanes(const std::vector<asio::io_context*>& contexts, std::size_t per_thread, const std::string& conninfo,
                       std::chrono::milliseconds statement_timeout, WorkerPool& connect_pool) {
  for (auto* io : contexts) {
    lanes_.push_back(std::make_unique<Lane>(*io, per_thread, conninfo, statement_timeout, connect_pool, counters_));
  }
}

Lane* AsyncLanes::lane_for(const asio::any_io_executor& executor) {
  const auto& context = asio::query(executor, asio::execution::context);
  for (auto& lane : lanes_) {
    if (&lane->io() == &context) return lane.get();
  }
  return nullptr;
}

void AsyncLanes::connect_now() {
  for (auto& lane : lanes_) lane->connect_now();
}

}  // namespace bazaar::platform::pq::detail
