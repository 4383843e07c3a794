#pragma once
// Redis (optional) and what is built on it: rate limiting shared across instances and cache-invalidation
// messages. Every Redis-backed part degrades to its in-process counterpart when Redis is absent or down:
// no request ever fails because Redis is unavailable.
#include <platform/blocking.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bazaar::platform {

// A small pool of blocking hiredis connections ("redis://host:port/db", optional password in userinfo).
// Commands time out quickly (connect and I/O timeouts of ~200 ms) and a failed connection is retried no
// more often than once a second, so an absent Redis costs almost nothing per call.
class RedisClient {
 public:
  struct Reply {  // a flattened redisReply
    enum class Type { nil, integer, string, array, status, error } type = Type::nil;
    std::int64_t integer = 0;
    std::string str;
    std::vector<Reply> elements;
  };

  RedisClient(std::string url, std::size_t connections);
  ~RedisClient();

  // Runs one command (argv form, binary-safe). nullopt when Redis is unreachable or the call failed.
  std::optional<Reply> command(const std::vector<std::string>& argv);
  bool ping();
  const std::string& url() const { return url_; }

  struct Impl;

 private:
  std::string url_;
  std::unique_ptr<Impl> impl_;
};

struct RateDecision {
  bool allowed = true;
  std::int64_t remaining = 0;
  int retry_after_seconds = 0;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one hit for `key`; allows at most `limit` hits per `window` (fixed window, aligned to the
  // window length).
  virtual boost::asio::awaitable<RateDecision> hit(std::string key, std::int64_t limit,
                                                   std::chrono::seconds window) = 0;
};

// Fixed-window counters in a sharded in-process map, expired windows purged as they are met.
class InProcessRateLimiter final : public RateLimiter {
 public:
  boost::asio::awaitable<RateDecision> hit(std::string key, std::int64_t limit, std::chrono::seconds window) override;
  RateDecision hit_sync(const std::string& key, std::int64_t limit, std::chrono::seconds window,
                        std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Counter {
    std::int64_t window_start = 0;
    std::int64_t count = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Counter> counters_;
  std::size_t hits_since_purge_ = 0;
};

// Atomic INCR+EXPIRE in one Lua script on Redis (shared by all instances), run on `pool`; falls back to
// the in-process limiter whenever Redis does not answer.
class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(std::shared_ptr<RedisClient> redis, WorkerPool& pool);
  boost::asio::awaitable<RateDecision> hit(std::string key, std::int64_t limit, std::chrono::seconds window) override;
  std::uint64_t fallbacks() const { return fallbacks_; }

 private:
  std::shared_ptr<RedisClient> redis_;
  WorkerPool& pool_;
  InProcessRateLimiter fallback_;
  std::atomic<std::uint64_t> fallbacks_{0};
};

}  // namespace bazaar::platform
