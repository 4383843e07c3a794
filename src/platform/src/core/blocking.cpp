#include <platform/blocking.hpp>
#include <platform/log.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <future>

#include <sys/resource.h>
#include <unistd.h>

namespace bazaar::platform {

namespace asio = boost::asio;

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(std::move(options)) {
  if (options_.threads == 0) options_.threads = 1;
  threads_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

// Counted before the waiter is woken, so that a caller who saw its job finish also sees it counted.
void WorkerPool::note_done() {
  --busy_;
  ++completed_;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool WorkerPool::try_enqueue(std::function<void(std::size_t, bool)> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_queue) {
      ++rejected_;
      return false;
    }
    queue_.push_back(Task{std::move(fn), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
  return true;
}

namespace {
// Linux gives every thread its own nice value (inherited from its creator): PRIO_PROCESS with a thread id
// changes only that thread. `nice` is added to what the thread inherited, up to the maximum of 19.
void set_thread_nice(const std::string& pool, int nice) {
  if (nice == 0) return;
  const auto self = static_cast<id_t>(gettid());
  const int inherited = getpriority(PRIO_PROCESS, self);
  if (setpriority(PRIO_PROCESS, self, std::min(19, inherited + nice)) != 0) {
    log::warn("could not lower a worker thread's priority", {{"pool", pool}, {"nice", nice}});
  }
}
}  // namespace

void WorkerPool::worker_loop(std::size_t index) {
  set_thread_nice(options_.name, options_.nice);
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto waited = std::chrono::steady_clock::now() - task.enqueued;
    total_wait_us_ += static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(waited).count());
    ++busy_;
    task.fn(index, waited > options_.max_wait);  // calls note_done() before it wakes the waiter
  }
}

namespace {
Error overloaded(const WorkerPoolOptions& o, bool expired) {
  Error e = Error::unavailable("The server is busy; try again shortly.", 1);
  e.internal = o.name + (expired ? ": job waited longer than max_wait" : ": queue full");
  return e;
}
}  // namespace

asio::awaitable<void> WorkerPool::run_erased(Job job) {
  std::exception_ptr failure;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&](auto handler) {
        // The handler is move-only; std::function needs copies, so it travels in a shared_ptr.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto resume = [shared] {
          auto ex = asio::get_associated_executor(*shared);
          asio::post(ex, [shared]() mutable { std::move (*shared)(); });
        };
        // Once the job is queued, a worker may resume (and finish) this coroutine at any moment: nothing
        // here may touch the coroutine frame after a successful try_enqueue.
        const bool queued = try_enqueue([&, resume](std::size_t worker, bool expired) {
          try {
            if (expired) throw ErrorException(overloaded(options_, true));
            job(worker);
          } catch (...) {
            failure = std::current_exception();
          }
          note_done();
          resume();
        });
        if (!queued) {
          failure = std::make_exception_ptr(ErrorException(overloaded(options_, false)));
          resume();
        }
      },
      asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
}

void WorkerPool::run_sync(const Job& job) {
  std::promise<void> done;
  auto future = done.get_future();
  const bool accepted = try_enqueue([&](std::size_t worker, bool) {
    std::exception_ptr failure;
    try {
      job(worker);
    } catch (...) {
      failure = std::current_exception();
    }
    note_done();
    failure ? done.set_exception(failure) : done.set_value();
  });
  if (!accepted) throw ErrorException(overloaded(options_, false));
  future.get();
}

}  // namespace bazaar::platform
