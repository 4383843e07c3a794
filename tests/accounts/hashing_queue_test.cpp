// Argon2id runs on its own small pool with a bounded queue (auth.hash_threads, auth.hash_queue): a burst of
// logins beyond the bound is answered at once with 503 + Retry-After instead of piling up, and a request
// waiting for a hash holds neither a database connection nor an I/O thread. The pool's only worker is
// held by a job of the test (a gate), so "busy" and "full" are states, not timing.
#include "accounts/accounts_support.hpp"

#include <platform/blocking.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

using namespace bazaar;
using namespace bazaar::accounts_test;

namespace {

platform::Config hashing_config(int queue, int pool_size = 4) {
  auto cfg = testing::test_config();
  cfg.set("auth.hash_threads", 1);
  cfg.set("auth.hash_queue", queue);
  cfg.set("database.pool_size", pool_size);
  // A request that waited for a connection behind a hash would fail fast, not after the default 2 s.
  cfg.set("database.acquire_timeout_ms", 500);
  return cfg;
}

// Holds the hashing pool's single worker until released or destroyed; can also fill the queue with jobs
// that wait behind it.
class HashingGate {
 public:
  explicit HashingGate(platform::WorkerPool& pool) : pool_(pool), released_(release_.get_future().share()) {
    auto running = started_.get_future();
    occupant_ = std::thread([this] {
      pool_.run_sync([this](std::size_t) {
        started_.set_value();
        released_.wait();
      });
    });
    running.wait();
  }
  ~HashingGate() { release(); }

  // Queues a job behind the occupant. co_spawn runs the coroutine up to its first suspension, which is
  // after the job was queued: once poll() returns, the job is in the queue.
  void queue_one() {
    boost::asio::co_spawn(queued_io_, pool_.run_erased([](std::size_t) {}), boost::asio::detached);
    queued_io_.poll();
  }

  void release() {
    if (occupant_.joinable()) {
      release_.set_value();
      occupant_.join();
      queued_io_.run();  // the queued jobs finish and resume here
    }
  }

 private:
  platform::WorkerPool& pool_;
  std::promise<void> started_;
  std::promise<void> release_;
  std::shared_future<void> released_;
  std::thread occupant_;
  boost::asio::io_context queued_io_;
};

// Waits until `condition` holds (another thread's request reaching a queue); fails after 10 s.
template <class F>
void wait_for(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the condition never held");
    std::this_thread::yield();
  }
}

void check_overloaded(const HttpResponse& r) {
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == std::optional<std::string>("1"));
  CHECK(r.header("Content-Type") == std::optional<std::string>("application/problem+json"));
  CHECK(code_of(r) == "unavailable");
  CHECK(r.json().at("status") == 503);
}

}  // namespace

TEST_SUITE("db.accounts") {
  TEST_CASE("accounts: beyond the hashing queue, login, registration and password change are 503 + Retry-After") {
    TestApp app(hashing_config(1));
    User u = new_user(app, "hash-queue");
    auto& pool = app.platform().hashing_pool();
    const auto rejected_before = pool.rejected();

    HashingGate gate(pool);
    gate.queue_one();
    REQUIRE(pool.busy() == 1);
    REQUIRE(pool.queued() == 1);

    check_overloaded(login_raw(app, u.email, kPassword));
    check_overloaded(login_raw(app, u.email, "a wrong password"));  // the same answer, no hint
    const std::string email = fresh_email("hash-queue-new");
    check_overloaded(app.http().post_json("/api/v1/auth/register", registration(email)));
    check_overloaded(app.http().post_json(
        "/api/v1/me/password", json::object{{"current_password", kPassword}, {"new_password", "An0ther-Secret!"}},
        u.token));
    CHECK(pool.rejected() - rejected_before == 4);
    CHECK(pool.queued() == 1);  // nothing piled up behind the bound

    gate.release();
    CHECK(count_sql(app, "SELECT count(*) FROM accounts.users WHERE email = :e", email) == 0);
    login(app, u.email, kPassword);  // the password did not change, and logins work again
  }

  TEST_CASE("accounts: a login waiting for the hashing pool holds no database connection or I/O thread") {
    TestApp app(hashing_config(4, 1));  // one database connection in all
    User u = new_user(app, "hash-wait");
    auto& pool = app.platform().hashing_pool();

    HashingGate gate(pool);
    auto waiting = std::async(std::launch::async, [&] { return login_raw(app, u.email, kPassword); });
    wait_for([&] { return pool.queued() == 1; });  // the login looked the user up and waits for its hash

    // The only connection is free: a request that needs it is served at once, not after acquire_timeout.
    CHECK(app.http().get("/api/v1/me", u.token).status == 200);
    CHECK(app.http().get("/healthz").status == 200);
    CHECK(app.http().get("/readyz").status == 200);

    gate.release();
    auto r = waiting.get();
    CHECK_MESSAGE(r.status == 200, r.body);
  }

  TEST_CASE("accounts: the hashing threads run below the I/O threads' priority (auth.hash_nice)") {
    auto cfg = testing::test_config();
    cfg.set("auth.hash_nice", 7);
    TestApp app(cfg);
    int io_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
    int hashing_nice = -100;
    app.platform().hashing_pool().run_sync(
        [&](std::size_t) { hashing_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); });
    CHECK(hashing_nice == std::min(19, io_nice + 7));
  }
}
