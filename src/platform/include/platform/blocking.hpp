#pragma once
// A bounded pool of worker threads for blocking work (SOCI, hiredis, Argon2). A coroutine hands a job
// over and is resumed on its own executor when the job is done; exceptions are rethrown at the co_await.
// Back-pressure instead of collapse: a full queue, or a job that waited longer than `max_wait`, fails with
// a 503 `unavailable` error instead of piling up.
#include <platform/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace bazaar::platform {

struct WorkerPoolOptions {
  std::string name = "workers";
  std::size_t threads = 2;
  std::size_t max_queue = 1024;
  std::chrono::milliseconds max_wait{2000};
  // Added to the Linux niceness of the worker threads. A CPU-bound pool (Argon2id) runs above 0 so that, when the cores
  // are contended, the I/O threads get the CPU first: a burst of logins slows logins, not every request.
  int nice = 0;
};

namespace detail {
template <class F>
decltype(auto) invoke_job(F& f, std::size_t worker) {
  if constexpr (std::is_invocable_v<F&, std::size_t>) {
    return f(worker);
  } else {
    return f();
  }
}
template <class F>
using job_result_t = decltype(invoke_job(std::declval<F&>(), std::size_t{}));
}  // namespace detail

class WorkerPool {
 public:
  using Job = std::function<void(std::size_t worker_index)>;

  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs f() — or f(worker_index) — on a worker thread.
  template <class F>
  boost::asio::awaitable<detail::job_result_t<F>> run(F f) {
    using R = detail::job_result_t<F>;
    if constexpr (std::is_void_v<R>) {
      co_await run_erased([&](std::size_t w) { detail::invoke_job(f, w); });
    } else {
      std::optional<R> out;
      co_await run_erased([&](std::size_t w) { out.emplace(detail::invoke_job(f, w)); });
      co_return std::move(*out);
    }
  }

  boost::asio::awaitable<void> run_erased(Job job);
  // Blocking variant for command-line tools and tests outside any io_context.
  void run_sync(const Job& job);

  void stop();  // finishes queued jobs, joins the threads
  std::size_t threads() const { return options_.threads; }
  std::size_t queued() const;
  std::size_t busy() const { return busy_.load(); }
  std::uint64_t rejected() const { return rejected_.load(); }
  std::uint64_t total_wait_us() const { return total_wait_us_.load(); }
  std::uint64_t completed() const { return completed_.load(); }

 private:
  struct Task {
    std::function<void(std::size_t, bool expired)> fn;
    std::chrono::steady_clock::time_point enqueued;
  };
  bool try_enqueue(std::function<void(std::size_t, bool)> fn);
  void worker_loop(std::size_t index);
  void note_done();

  WorkerPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> busy_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> total_wait_us_{0};
  std::atomic<std::uint64_t> completed_{0};
};

}  // namespace bazaar::platform
