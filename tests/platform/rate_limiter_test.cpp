// Rate limiting in-process and on a real Redis (BAZAAR_TEST_REDIS_URL), plus the Redis client it uses.
#include <platform/cache.hpp>
#include <support/async.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using bazaar::platform::InProcessRateLimiter;
using bazaar::platform::RateDecision;
using bazaar::platform::RedisClient;
using bazaar::platform::RedisRateLimiter;
using bazaar::platform::WorkerPool;
using bazaar::platform::WorkerPoolOptions;
using bazaar::testing::run_awaitable;
using Type = RedisClient::Reply::Type;

// A missing Redis must fail the suite loudly: a silently skipped test would hide the multi-instance path.
std::string redis_url() {
  const char* url = std::getenv("BAZAAR_TEST_REDIS_URL");
  if (url == nullptr || *url == '\0') {
    FAIL("BAZAAR_TEST_REDIS_URL is not set; point it at a running redis-server, e.g. redis://127.0.0.1:6379/0");
  }
  return url;
}

// The same server with another database (or another password): replaces whatever path the URL had.
std::string with_db(const std::string& url, int db) {
  const auto authority = url.find("://") + 3;
  const auto slash = url.find('/', authority);
  return url.substr(0, slash) + "/" + std::to_string(db);
}

std::string host_port(const std::string& url) {
  auto authority = url.find("://") + 3;
  const auto at = url.find('@', authority);
  if (at != std::string::npos) authority = at + 1;
  return url.substr(authority, url.find('/', authority) - authority);
}

// Keys unique to this run, so reruns and parallel runs against one Redis never see each other's counts.
std::string unique(const std::string& name) {
  static const std::string suffix = [] {
    std::random_device rd;
    return std::to_string(rd()) + std::to_string(rd());
  }();
  return "test:" + name + ":" + suffix;
}

WorkerPoolOptions pool_options(std::size_t threads = 2) {
  WorkerPoolOptions o;
  o.name = "redis-test";
  o.threads = threads;
  return o;
}

RateDecision hit(bazaar::platform::RateLimiter& limiter, const std::string& key, std::int64_t limit,
                 std::chrono::seconds window) {
  return run_awaitable(limiter.hit(key, limit, window));
}

void delete_keys(RedisClient& redis, const std::string& key) {
  auto keys = redis.command({"KEYS", "bazaar:rl:" + key + ":*"});
  if (!keys) return;
  for (const auto& k : keys->elements) redis.command({"DEL", k.str});
}

}  // namespace

TEST_CASE("rate limit: in-process allows the limit, then refuses until the window ends") {
  InProcessRateLimiter limiter;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;  // aligned to 10 s windows
  for (int i = 1; i <= 3; ++i) {
    const auto d = limiter.hit_sync("login:1.2.3.4", 3, 10s, t0 + 2s);
    CHECK(d.allowed);
    CHECK(d.remaining == 3 - i);
    CHECK(d.retry_after_seconds == 0);
  }
  const auto refused = limiter.hit_sync("login:1.2.3.4", 3, 10s, t0 + 2s);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.remaining == 0);
  CHECK(refused.retry_after_seconds == 8);
  CHECK(limiter.hit_sync("login:1.2.3.4", 3, 10s, t0 + 9s + 900ms).retry_after_seconds == 1);
}

TEST_CASE("rate limit: in-process counts start again in a new window") {
  InProcessRateLimiter limiter;
  const auto t0 = std::chrono::steady_clock::time_point{} + 600s;
  for (int i = 0; i < 2; ++i) CHECK(limiter.hit_sync("k", 2, 60s, t0).allowed);
  CHECK_FALSE(limiter.hit_sync("k", 2, 60s, t0 + 59s).allowed);
  const auto next = limiter.hit_sync("k", 2, 60s, t0 + 60s);
  CHECK(next.allowed);
  CHECK(next.remaining == 1);
}

TEST_CASE("rate limit: in-process keys and windows are independent") {
  InProcessRateLimiter limiter;
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK(limiter.hit_sync("a", 1, 10s, t0).allowed);
  CHECK_FALSE(limiter.hit_sync("a", 1, 10s, t0).allowed);
  CHECK(limiter.hit_sync("b", 1, 10s, t0).allowed);
  CHECK(limiter.hit_sync("a", 1, 20s, t0).allowed);  // same key, other rule
}

TEST_CASE("rate limit: in-process purges expired counters without losing live ones") {
  InProcessRateLimiter limiter;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  CHECK(limiter.hit_sync("live", 1, 3600s, t0).allowed);
  for (int i = 0; i < 5000; ++i) limiter.hit_sync("ip:" + std::to_string(i), 10, 1s, t0 + std::chrono::seconds(i));
  CHECK_FALSE(limiter.hit_sync("live", 1, 3600s, t0 + 1s).allowed);
}

TEST_CASE("rate limit: in-process hit() is the coroutine face of hit_sync") {
  InProcessRateLimiter limiter;
  CHECK(hit(limiter, "x", 1, 60s).allowed);
  const auto d = hit(limiter, "x", 1, 60s);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after_seconds >= 1);
  CHECK(d.retry_after_seconds <= 60);
}

TEST_CASE("rate limit: redis client runs binary-safe commands and answers ping") {
  RedisClient redis(redis_url(), 2);
  REQUIRE(redis.ping());
  const std::string key = unique("client");
  const std::string value("a\0b\r\nc", 6);
  auto set = redis.command({"SET", key, value, "EX", "60"});
  REQUIRE(set);
  CHECK(set->type == Type::status);
  CHECK(set->str == "OK");
  auto get = redis.command({"GET", key});
  REQUIRE(get);
  CHECK(get->type == Type::string);
  CHECK(get->str == value);
  auto missing = redis.command({"GET", key + ":missing"});
  REQUIRE(missing);
  CHECK(missing->type == Type::nil);
  auto list = redis.command({"MGET", key, key + ":missing"});
  REQUIRE(list);
  REQUIRE(list->type == Type::array);
  REQUIRE(list->elements.size() == 2);
  CHECK(list->elements[0].str == value);
  CHECK(list->elements[1].type == Type::nil);
  auto wrong = redis.command({"NO-SUCH-COMMAND"});
  REQUIRE(wrong);  // an error reply is an answer, not an outage
  CHECK(wrong->type == Type::error);
  auto del = redis.command({"DEL", key});
  REQUIRE(del);
  CHECK(del->type == Type::integer);
  CHECK(del->integer == 1);
  CHECK(redis.ping());  // the connection survived the error reply
}

TEST_CASE("rate limit: redis client replaces a pooled connection the server closed") {
  const std::string url = redis_url();
  RedisClient redis(url, 1);
  auto id = redis.command({"CLIENT", "ID"});
  REQUIRE(id);
  REQUIRE(id->type == Type::integer);
  RedisClient admin(url, 1);
  auto killed = admin.command({"CLIENT", "KILL", "ID", std::to_string(id->integer)});
  REQUIRE(killed);
  CHECK(killed->integer == 1);
  CHECK(redis.ping());  // the stale connection fails with EOF and is retried once on a fresh one
  auto new_id = redis.command({"CLIENT", "ID"});
  REQUIRE(new_id);
  CHECK(new_id->integer != id->integer);
}

TEST_CASE("rate limit: redis client selects the database named in the URL") {
  const std::string url = redis_url();
  RedisClient db3(with_db(url, 3), 1);
  RedisClient db4(with_db(url, 4), 1);
  const std::string key = unique("db");
  REQUIRE(db3.command({"SET", key, "three", "EX", "60"}));
  auto in3 = db3.command({"GET", key});
  REQUIRE(in3);
  CHECK(in3->str == "three");
  auto in4 = db4.command({"GET", key});
  REQUIRE(in4);
  CHECK(in4->type == Type::nil);
  auto info = db3.command({"CLIENT", "INFO"});
  REQUIRE(info);
  CHECK(info->str.find(" db=3 ") != std::string::npos);
  db3.command({"DEL", key});
}

TEST_CASE("rate limit: redis client with a wrong password or bad URL") {
  RedisClient wrong("redis://:not-the-password@" + host_port(redis_url()) + "/0", 1);
  CHECK_FALSE(wrong.ping());  // refused AUTH (or AUTH with no password configured) means no connection
  CHECK_THROWS_AS(RedisClient("http://127.0.0.1:6379/0", 1), std::invalid_argument);
  CHECK_THROWS_AS(RedisClient("redis://127.0.0.1:6379/zero", 1), std::invalid_argument);
  CHECK_THROWS_AS(RedisClient("redis:///0", 1), std::invalid_argument);
  CHECK_NOTHROW(RedisClient("redis://[::1]:6379", 1));
  CHECK_NOTHROW(RedisClient("redis://user:p%40ss@localhost/15", 1));
}

TEST_CASE("rate limit: two instances sharing one Redis share the count") {
  const std::string url = redis_url();
  WorkerPool pool_a(pool_options());
  WorkerPool pool_b(pool_options());
  auto redis_a = std::make_shared<RedisClient>(url, 2);
  auto redis_b = std::make_shared<RedisClient>(url, 2);
  RedisRateLimiter a(redis_a, pool_a);
  RedisRateLimiter b(redis_b, pool_b);
  const std::string key = unique("shared");
  // A day-long window makes crossing a window boundary during the test practically impossible.
  for (int i = 1; i <= 4; ++i) {
    const auto d = hit(i % 2 == 0 ? a : b, key, 4, 86400s);
    CHECK(d.allowed);
    CHECK(d.remaining == 4 - i);
  }
  for (auto* limiter : {&a, &b}) {
    const auto refused = hit(*limiter, key, 4, 86400s);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.remaining == 0);
    CHECK(refused.retry_after_seconds >= 1);
    CHECK(refused.retry_after_seconds <= 86400);
  }
  CHECK(a.fallbacks() == 0);
  CHECK(b.fallbacks() == 0);
  delete_keys(*redis_a, key);
}

TEST_CASE("rate limit: concurrent hits on Redis are counted exactly once each") {
  const std::string url = redis_url();
  WorkerPool pool(pool_options(4));
  RedisRateLimiter limiter(std::make_shared<RedisClient>(url, 4), pool);
  const std::string key = unique("concurrent");
  boost::asio::io_context io;
  int allowed = 0;
  for (int i = 0; i < 40; ++i) {
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          if ((co_await limiter.hit(key, 25, 86400s)).allowed) ++allowed;
        },
        boost::asio::detached);
  }
  io.run();
  CHECK(allowed == 25);
  CHECK(limiter.fallbacks() == 0);
  RedisClient cleanup(url, 1);
  delete_keys(cleanup, key);
}

TEST_CASE("rate limit: the Redis counter key is per window and expires") {
  const std::string url = redis_url();
  WorkerPool pool(pool_options());
  auto redis = std::make_shared<RedisClient>(url, 1);
  RedisRateLimiter limiter(redis, pool);
  const std::string key = unique("ttl");
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string redis_key = "bazaar:rl:" + key + ":" + std::to_string(now_s / 86400 * 86400);
  CHECK(hit(limiter, key, 10, 86400s).allowed);
  auto ttl = redis->command({"PTTL", redis_key});
  REQUIRE(ttl);
  CHECK(ttl->integer > 0);
  CHECK(ttl->integer <= (86400 + 10) * 1000);
  redis->command({"DEL", redis_key});
}

TEST_CASE("rate limit: an error reply from Redis falls back to the in-process limiter") {
  const std::string url = redis_url();
  WorkerPool pool(pool_options());
  auto redis = std::make_shared<RedisClient>(url, 1);
  RedisRateLimiter limiter(redis, pool);
  const std::string key = unique("wrongtype");
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string redis_key = "bazaar:rl:" + key + ":" + std::to_string(now_s / 86400 * 86400);
  REQUIRE(redis->command({"RPUSH", redis_key, "not a counter"}));  // makes INCR fail with WRONGTYPE
  CHECK(hit(limiter, key, 1, 86400s).allowed);
  CHECK_FALSE(hit(limiter, key, 1, 86400s).allowed);  // the fallback still limits
  CHECK(limiter.fallbacks() == 2);
  redis->command({"DEL", redis_key});
}

TEST_CASE("rate limit: an unreachable Redis falls back quickly") {
  WorkerPool pool(pool_options());
  auto redis = std::make_shared<RedisClient>("redis://127.0.0.1:1/0", 2);
  RedisRateLimiter limiter(redis, pool);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) CHECK(hit(limiter, "down", 10, 60s).allowed);
  CHECK_FALSE(redis->ping());
  CHECK_FALSE(redis->command({"GET", "x"}).has_value());
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(limiter.fallbacks() == 5);
  CHECK(elapsed < 1s);
}

TEST_CASE("rate limit: an overloaded worker pool falls back instead of failing") {
  WorkerPoolOptions options = pool_options(1);
  options.max_queue = 0;  // every job is refused with a 503
  WorkerPool pool(options);
  RedisRateLimiter limiter(std::make_shared<RedisClient>("redis://127.0.0.1:1/0", 1), pool);
  CHECK(hit(limiter, "busy", 1, 60s).allowed);
  CHECK_FALSE(hit(limiter, "busy", 1, 60s).allowed);
  CHECK(limiter.fallbacks() == 2);
}
