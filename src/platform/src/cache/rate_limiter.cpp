#include <platform/cache.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <utility>

namespace bazaar::platform {

namespace asio = boost::asio;

namespace {

// A full sweep of the map runs once per this many hits at least, and never more often than once per
// map size, so purging costs O(1) per hit however many keys there are.
constexpr std::size_t kPurgeEvery = 1024;

// Added to a Redis counter's lifetime so that an instance whose clock runs a little behind the one that
// created the key still finds it until that instance's window ends too.
constexpr std::int64_t kSkewSlackMs = 2000;

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

std::int64_t window_seconds(std::chrono::seconds window) { return std::max<std::int64_t>(window.count(), 1); }

// Counters are keyed by window length too: the same key used with two windows must not reset the other's
// count, and the purge needs the length to know when a counter has expired.
std::string counter_key(const std::string& key, std::int64_t window) { return std::to_string(window) + '|' + key; }

std::int64_t window_of(const std::string& counter_key) {
  std::int64_t w = 1;
  std::from_chars(counter_key.data(), counter_key.data() + counter_key.size(), w);
  return w;
}

// INCR and the first hit's expiry in one atomic step: a crash between the two can never leave an immortal
// counter, and a counter that lost its TTL anyway (restored dump, PERSIST) gets one again.
constexpr const char* kScript = R"lua(
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
)lua";

RateDecision decide(std::int64_t count, std::int64_t limit, std::int64_t retry_after_seconds) {
  RateDecision d;
  d.allowed = count <= limit;
  d.remaining = std::max<std::int64_t>(limit - count, 0);
  d.retry_after_seconds = d.allowed ? 0 : static_cast<int>(std::max<std::int64_t>(retry_after_seconds, 1));
  return d;
}

// Runs on a worker thread. nullopt whenever Redis did not give a well-formed answer.
std::optional<RateDecision> redis_hit(RedisClient* redis, const std::string& key, std::int64_t limit,
                                      std::int64_t window, std::int64_t window_start, std::int64_t ms_left) {
  if (redis == nullptr) return std::nullopt;
  const std::int64_t ttl_ms = ms_left + kSkewSlackMs;
  auto reply = redis->command(
      {"EVAL", kScript, "1", "bazaar:rl:" + key + ":" + std::to_string(window_start), std::to_string(ttl_ms)});
  using Type = RedisClient::Reply::Type;
  if (!reply || reply->type != Type::array || reply->elements.size() != 2 || reply->elements[0].type != Type::integer ||
      reply->elements[1].type != Type::integer) {
    return std::nullopt;
  }
  const std::int64_t count = reply->elements[0].integer;
  const std::int64_t pttl = reply->elements[1].integer;
  // The key's TTL is the window end as seen by the instance that opened the window, so every instance
  // answers with the same Retry-After; our own clock is the fallback.
  const std::int64_t until_end_ms = pttl >= 0 ? pttl - kSkewSlackMs : ms_left;
  const std::int64_t retry_after = std::clamp<std::int64_t>((until_end_ms + 999) / 1000, 1, window);
  return decide(count, limit, retry_after);
}

}  // namespace

asio::awaitable<RateDecision> InProcessRateLimiter::hit(std::string key, std::int64_t limit,
                                                        std::chrono::seconds window) {
  co_return hit_sync(key, limit, window);
}

RateDecision InProcessRateLimiter::hit_sync(const std::string& key, std::int64_t limit, std::chrono::seconds window,
                                            std::chrono::steady_clock::time_point now) {
  const std::int64_t w = window_seconds(window);
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t start = floor_div(now_s, w) * w;
  std::string map_key = counter_key(key, w);  // built outside the lock

  std::lock_guard lock(mutex_);
  if (++hits_since_purge_ >= std::max(kPurgeEvery, counters_.size())) {
    hits_since_purge_ = 0;
    std::erase_if(counters_,
                  [now_s](const auto& entry) { return entry.second.window_start + window_of(entry.first) <= now_s; });
  }
  Counter& counter = counters_[std::move(map_key)];
  if (counter.window_start != start) counter = Counter{start, 0};  // a new window met: the old count is gone
  ++counter.count;
  return decide(counter.count, limit, start + w - now_s);
}

RedisRateLimiter::RedisRateLimiter(std::shared_ptr<RedisClient> redis, WorkerPool& pool)
    : redis_(std::move(redis)), pool_(pool) {}

asio::awaitable<RateDecision> RedisRateLimiter::hit(std::string key, std::int64_t limit, std::chrono::seconds window) {
  // Wall-clock windows: every instance must agree on where a window starts, which steady_clock cannot give.
  const std::int64_t w = window_seconds(window);
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::int64_t start = floor_div(floor_div(now_ms, 1000), w) * w;
  const std::int64_t ms_left = (start + w) * 1000 - now_ms;

  std::optional<RateDecision> decision;
  try {
    decision = co_await pool_.run([&] { return redis_hit(redis_.get(), key, limit, w, start, ms_left); });
  } catch (const std::exception&) {
    // The pool is overloaded (503 from WorkerPool): a rate limiter must not turn that into a failed request.
  }
  if (!decision) {
    ++fallbacks_;
    co_return fallback_.hit_sync(key, limit, window);
  }
  co_return *decision;
}

}  // namespace bazaar::platform
