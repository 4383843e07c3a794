#pragma once
// The I/O threads' own database connections (DESIGN.md "async libpq on the I/O threads with
// pipelining"): libpq in non-blocking pipeline mode, its socket watched by the thread's io_context. A
// statement or pipelined batch is written at once and its results arrive in order, so one connection
// serves every request of its thread at the same time, without a worker-thread hop or a connection held
// while waiting. Each io_context is run by exactly one thread (Platform::start), so nothing here needs a
// lock; only the counters read by /metrics are atomic.
#include <platform/pq.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/devector.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bazaar::platform {
class WorkerPool;
}

namespace bazaar::platform::pq::detail {

// What resumes the coroutine waiting for a batch (submit() below is the only caller). Its concrete type,
// not a type-erased handler: one allocation less per statement.
using BatchHandler =
    boost::asio::async_result<boost::asio::use_awaitable_t<>, void(std::exception_ptr, Results)>::handler_type;

struct AsyncCounters {
  std::atomic<std::uint64_t> batches{0};    // sent on an I/O thread's connection
  std::atomic<std::uint64_t> fallbacks{0};  // sent through the worker pool instead
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> connected{0};
};

class AsyncConnection : public std::enable_shared_from_this<AsyncConnection> {
 public:
  // Takes ownership of `conn`: connected, non-blocking, in pipeline mode.
  AsyncConnection(boost::asio::io_context& io, PGconn* conn, AsyncCounters& counters);
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  void start();  // watches the socket; once, right after construction
  bool usable() const { return conn_ != nullptr; }
  // For an idle connection: whether the server closed it in the meantime (then it is closed here too).
  // A statement sent on it would fail, and the watcher may not have run yet.
  bool closed_while_idle();
  std::size_t in_flight() const { return pending_.size(); }
  // Sends the statements followed by one Sync (one implicit transaction). `handler` gets every
  // statement's result, or the first error, once they arrive, on this connection's thread.
  //
  // Except for a lone read (one prepared SELECT without a locking clause, see is_read_only): the reads
  // submitted during one turn of the event loop share one Sync, sent at the end of the turn. Every Sync
  // costs a send on each side, a wake-up and a commit in PostgreSQL; a group of reads costs one of each.
  // The reads then share an implicit transaction, which changes nothing for them (each still reads its
  // own snapshot, and a read takes no row locks; only now() is the group's start, earlier than the
  // statement's own by the time the reads before it took) until one of them fails: that one gets its error, the
  // reads before it their answers, and the reads after it, which PostgreSQL skipped, are sent again, each
  // alone.
  void submit(std::span<const Pipeline::Step> steps, BatchHandler handler);
  // Fails every batch in flight with a 503 and gives the connection up.
  void close(const std::string& why);
  // Holds back what is written to the socket until uncorked (TCP_CORK); for Flight. A no-op on a Unix socket.
  void cork(bool on);

 private:
  struct Command {
    int step;                  // index into the batch's results, or -1 for a Prepare
    const char* prepared_name;  // for a Prepare: forgotten again if it fails
  };
  struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  // A BatchHandler can be moved but not move-assigned, which the queues below need.
  class Waiter {
   public:
    explicit Waiter(BatchHandler handler) : handler_(std::move(handler)) {}
    Waiter(Waiter&&) = default;
    Waiter& operator=(Waiter&& other) noexcept {
      if (this != &other) {
        handler_.reset();
        if (other.handler_) handler_.emplace(std::move(*other.handler_));
      }
      return *this;
    }
    BatchHandler take() && { return std::move(*handler_); }

   private:
    std::optional<BatchHandler> handler_;
  };
  struct Pending {
    Waiter waiter;
    std::span<const Pipeline::Step> steps;  // the submitter's, alive while it waits: for sending again
    boost::container::small_vector<Command, 4> commands;
    Results results;
    std::unique_ptr<PGresult, ResultDeleter> failure;  // the first error; later statements only say "aborted"
    std::exception_ptr error;                          // what `failure` is thrown as, once the batch is done
    std::size_t command = 0;                           // whose results are arriving
    bool command_answered = false;                     // at least one result for `command` arrived
    bool ends_group = true;                            // the next Sync follows it (false: a read in an open group)
    bool aborted = false;                              // skipped after another statement's error
  };

  void watch_readable();
  bool consume_input();  // reads what arrived and completes finished batches; false once closed
  bool read_results();   // false when the connection had to be closed
  void send(std::span<const Pipeline::Step> steps, Waiter waiter, bool may_group);
  bool lone_read(std::span<const Pipeline::Step> steps) const;
  void close_group();  // sends the open group's Sync
  void record(Pending& p, PGresult* r);
  bool finish_group();  // at a Sync: false when out of step with libpq
  void deliver_finished();
  void flush();
  void complete(BatchHandler handler, std::exception_ptr error, Results results);
  void give_up(const std::string& why);  // close() without the warning (shutdown)

  boost::asio::io_context& io_;
  PGconn* conn_;
  boost::asio::posix::stream_descriptor socket_;
  AsyncCounters& counters_;
  boost::container::devector<Pending> pending_;  // sent, in the order their results will arrive
  std::size_t reading_ = 0;                       // index in pending_ of the batch whose results arrive
  bool group_open_ = false;                       // reads sent whose Sync is not
  bool group_sync_posted_ = false;
  std::vector<Pending> finished_;                 // answered, waiting for deliver_finished()
  bool delivering_ = false;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The statements this connection has prepared (looked up without a copy of the name), each with
  // whether it only reads (is_read_only, decided once).
  std::unordered_map<std::string, bool, NameHash, std::equal_to<>> prepared_;
  std::chrono::steady_clock::time_point planned_at_ = std::chrono::steady_clock::now();
  bool waiting_writable_ = false;
};

// While a Flight lives on a thread, what submit() writes there waits in the kernel (TCP_CORK on each
// connection it goes out on) and leaves when the Flight ends: batches of steps started together
// (pq::concurrently) travel in one flight whatever the scheduler does between their writes. Without it, a
// second write that comes a little late can find the first batch already answered: two round trips.
// Flights do not nest: an inner one joins the outer.
class Flight {
 public:
  Flight();
  ~Flight();
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;
  // For submit(): corks `connection` until the end of this thread's Flight, if one is on.
  static void board(AsyncConnection& connection);

 private:
  bool outermost_;
  std::vector<std::shared_ptr<AsyncConnection>> corked_;
};

// One I/O thread's connections.
class Lane {
 public:
  Lane(boost::asio::io_context& io, std::size_t size, std::string conninfo, std::chrono::milliseconds statement_timeout,
       WorkerPool& connect_pool, AsyncCounters& counters);
  boost::asio::io_context& io() { return io_; }
  // The usable connection with the fewest batches in flight, or nullptr. Starts reconnecting empty slots
  // (in the background, on the worker pool; at most once a second per slot).
  AsyncConnection* pick();
  // Blocking: connects every slot. Only before the lane's thread runs.
  void connect_now();

 private:
  boost::asio::awaitable<void> reconnect(std::size_t slot);
  void install(std::size_t slot, PGconn* conn);

  boost::asio::io_context& io_;
  std::string conninfo_;
  std::chrono::milliseconds statement_timeout_;
  WorkerPool& connect_pool_;
  AsyncCounters& counters_;
  std::vector<std::shared_ptr<AsyncConnection>> slots_;
  std::vector<bool> connecting_;
  std::vector<std::chrono::steady_clock::time_point> retry_at_;
};

class AsyncLanes {
 public:
  AsyncLanes(const std::vector<boost::asio::io_context*>& contexts, std::size_t per_thread, const std::string& conninfo,
             std::chrono::milliseconds statement_timeout, WorkerPool& connect_pool);
  // The lane of the io_context that `executor` belongs to, or nullptr (a private context, the pool).
  Lane* lane_for(const boost::asio::any_io_executor& executor);
  void connect_now();
  AsyncCounters& counters() { return counters_; }

 private:
  AsyncCounters counters_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

// Whether `sql` only reads: a SELECT without a locking clause (FOR UPDATE/SHARE) and without advisory locks
// or sequence changes. Such a statement takes no lock another request could wait on, and running it again
// after a rollback is the same as running it once.
bool is_read_only(std::string_view sql);

// Sends `steps` on `connection` and waits for their results.
boost::asio::awaitable<Results> submit(AsyncConnection& connection, std::span<const Pipeline::Step> steps);

}  // namespace bazaar::platform::pq::detail
