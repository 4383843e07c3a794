// The bounded pool that runs blocking work (SOCI, hiredis, Argon2) off the I/O threads: results and
// exceptions come back to the awaiting coroutine, and overload turns into 503 `unavailable` instead of
// an ever-growing queue.
#include "support/eventually.hpp"

#include <platform/blocking.hpp>
#include <support/async.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using bazaar::platform::Errc;
using bazaar::platform::Error;
using bazaar::platform::ErrorException;
using bazaar::platform::WorkerPool;
using bazaar::platform::WorkerPoolOptions;
using bazaar::testing::run_awaitable;

WorkerPoolOptions options(std::size_t threads, std::size_t max_queue = 1024,
                          std::chrono::milliseconds max_wait = std::chrono::seconds(2)) {
  WorkerPoolOptions o;
  o.name = "test-pool";
  o.threads = threads;
  o.max_queue = max_queue;
  o.max_wait = max_wait;
  return o;
}

using bazaar::testing::eventually;

// A job that blocks a worker until the test opens it; opens itself when the test leaves its scope.
class Blocker {
 public:
  Blocker() : future_(promise_.get_future().share()) {}
  ~Blocker() { open(); }
  void open() {
    if (!opened_.exchange(true)) promise_.set_value();
  }
  auto job() {
    return [f = future_](std::size_t) { f.wait(); };
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_;
  std::atomic<bool> opened_{false};
};

// The error code of the ErrorException f throws; nullopt when it throws none.
template <class F>
std::optional<Errc> error_code_of(F f) {
  try {
    f();
  } catch (const ErrorException& e) {
    return e.error().code;
  }
  return std::nullopt;
}

}  // namespace

TEST_SUITE("worker pool") {
  TEST_CASE("worker pool: a job's result comes back to the awaiting coroutine") {
    WorkerPool pool(options(2));
    CHECK(run_awaitable(pool.run([] { return 42; })) == 42);
    auto owned = run_awaitable(pool.run([] { return std::make_unique<int>(7); }));  // move-only results
    REQUIRE(owned != nullptr);
    CHECK(*owned == 7);
    int side = 0;
    run_awaitable(pool.run([&] { side = 5; }));  // void jobs
    CHECK(side == 5);
    CHECK(run_awaitable(pool.run([](std::size_t worker) { return worker; })) < 2);  // f(worker_index)
    CHECK(pool.completed() == 4);
  }

  TEST_CASE("worker pool: a job runs off the caller's thread and the coroutine resumes on its own executor") {
    WorkerPool pool(options(1));
    const auto caller = std::this_thread::get_id();
    std::thread::id worker, resumed;
    run_awaitable([&]() -> asio::awaitable<void> {
      worker = co_await pool.run([] { return std::this_thread::get_id(); });
      resumed = std::this_thread::get_id();
    }());
    CHECK(worker != caller);
    CHECK(resumed == caller);
  }

  TEST_CASE("worker pool: jobs run in parallel on distinct workers") {
    WorkerPool pool(options(2));
    std::atomic<int> arrived{0};
    std::atomic<bool> both_met{true};
    auto meet = [&](std::size_t) {  // each waits (bounded) until the other has started too
      ++arrived;
      if (!eventually([&] { return arrived.load() == 2; })) both_met = false;
    };
    std::thread a([&] { pool.run_sync(meet); });
    std::thread b([&] { pool.run_sync(meet); });
    a.join();
    b.join();
    CHECK(both_met);
  }

  TEST_CASE("worker pool: exceptions thrown by a job propagate to the caller") {
    WorkerPool pool(options(1));
    CHECK_THROWS_WITH_AS(run_awaitable(pool.run([]() -> int { throw std::logic_error("boom"); })), "boom",
                         std::logic_error);
    try {
      run_awaitable(pool.run([] { throw ErrorException(Error::conflict("taken", "It is taken.")); }));
      FAIL("no exception");
    } catch (const ErrorException& e) {
      CHECK(e.error().code == Errc::conflict);
      CHECK(e.error().code_slug() == "taken");
    }
    CHECK_THROWS_WITH_AS(pool.run_sync([](std::size_t) { throw std::runtime_error("sync boom"); }), "sync boom",
                         std::runtime_error);
    // The pool survives its jobs' failures.
    CHECK(run_awaitable(pool.run([] { return 1; })) == 1);
  }

  TEST_CASE("worker pool: a full queue refuses new jobs with 503 unavailable") {
    WorkerPool pool(options(1, /*max_queue=*/1));
    Blocker blocker;
    std::thread running([&] { pool.run_sync(blocker.job()); });
    REQUIRE(eventually([&] { return pool.busy() == 1; }));
    std::atomic<bool> queued_ran{false};
    std::thread queued([&] { pool.run_sync([&](std::size_t) { queued_ran = true; }); });
    REQUIRE(eventually([&] { return pool.queued() == 1; }));

    CHECK(error_code_of([&] { pool.run_sync([](std::size_t) {}); }) == Errc::unavailable);
    bool ran = false;
    CHECK(error_code_of([&] { run_awaitable(pool.run([&] { ran = true; })); }) == Errc::unavailable);
    CHECK_FALSE(ran);
    CHECK(pool.rejected() == 2);
    try {
      pool.run_sync([](std::size_t) {});
    } catch (const ErrorException& e) {
      CHECK(e.error().retry_after_seconds > 0);            // a 503 with Retry-After
      CHECK(e.error().internal.find("queue full") != std::string::npos);
      CHECK(e.error().detail.find("test-pool") == std::string::npos);  // internals stay internal
    }

    blocker.open();
    running.join();
    queued.join();
    CHECK(queued_ran);  // what was queued before the overload still ran
    CHECK(run_awaitable(pool.run([] { return 3; })) == 3);
  }

  TEST_CASE("worker pool: a job that waited longer than max_wait fails with 503 instead of running late") {
    WorkerPool pool(options(1, 16, /*max_wait=*/50ms));
    Blocker blocker;
    std::thread running([&] { pool.run_sync(blocker.job()); });
    REQUIRE(eventually([&] { return pool.busy() == 1; }));

    std::atomic<bool> late_ran{false};
    std::optional<Errc> late_error;
    std::thread late([&] { late_error = error_code_of([&] { run_awaitable(pool.run([&] { late_ran = true; })); }); });
    REQUIRE(eventually([&] { return pool.queued() == 1; }));
    // The precondition is time itself: the queued job has to wait past max_wait.
    std::this_thread::sleep_for(120ms);
    blocker.open();
    running.join();
    late.join();
    CHECK(late_error == Errc::unavailable);
    CHECK_FALSE(late_ran);
    // A fresh job does not wait and runs.
    CHECK(run_awaitable(pool.run([] { return 9; })) == 9);
  }

  TEST_CASE("worker pool: stop finishes what is queued and refuses what comes after") {
    auto pool = std::make_unique<WorkerPool>(options(1));
    Blocker blocker;
    std::thread running([&] { pool->run_sync(blocker.job()); });
    REQUIRE(eventually([&] { return pool->busy() == 1; }));
    std::atomic<bool> queued_ran{false};
    std::thread queued([&] { pool->run_sync([&](std::size_t) { queued_ran = true; }); });
    REQUIRE(eventually([&] { return pool->queued() == 1; }));
    std::thread stopper([&] { pool->stop(); });
    blocker.open();
    stopper.join();
    running.join();
    queued.join();
    CHECK(queued_ran);
    CHECK(error_code_of([&] { pool->run_sync([](std::size_t) {}); }) == Errc::unavailable);
    pool->stop();  // idempotent
    pool.reset();
  }

  TEST_CASE("worker pool: zero threads means one") {
    WorkerPool pool(options(0));
    CHECK(pool.threads() == 1);
    CHECK(run_awaitable(pool.run([] { return 1; })) == 1);
  }
}
