// The response cache: hits share one body, entries expire, invalidation drops everything and refuses
// values loaded before it, memory stays within its byte budget, and with Redis invalidations travel
// between instances (and an absent Redis changes nothing locally).
#include "support/eventually.hpp"
#include "support/test_env.hpp"

#include <platform/metrics.hpp>
#include <platform/response_cache.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace bazaar;
using platform::ResponseCache;
using platform::ResponseCacheOptions;

namespace {

ResponseCache::Body body(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

ResponseCacheOptions options(std::chrono::milliseconds ttl = std::chrono::seconds(60), std::size_t max_bytes = 1 << 20,
                             std::size_t shards = 4) {
  ResponseCacheOptions o;
  o.name = "test";
  o.ttl = ttl;
  o.max_bytes = max_bytes;
  o.shards = shards;
  return o;
}

using testing::eventually;

}  // namespace

TEST_SUITE("platform") {
  TEST_CASE("response cache: a hit returns the very body that was stored, without a copy") {
    ResponseCache cache(options());
    CHECK(cache.get("a") == nullptr);
    auto b = body("{\"id\":1}");
    cache.put("a", b, cache.generation());
    auto hit = cache.get("a");
    CHECK(hit == b);  // same shared object
    CHECK(cache.hits() == 1);
    CHECK(cache.misses() == 1);
    CHECK(cache.entries() == 1);
    CHECK(cache.bytes() > b->size());
    cache.put("a", body("{\"id\":2}"), cache.generation());  // replaces
    CHECK(*cache.get("a") == "{\"id\":2}");
    CHECK(cache.entries() == 1);
  }

  TEST_CASE("response cache: entries expire after the TTL") {
    ResponseCache cache(options(std::chrono::milliseconds(30)));
    cache.put("k", body("v"), cache.generation());
    CHECK(cache.get("k") != nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the TTL and the reload grace
    CHECK(cache.get("k") == nullptr);
    CHECK(cache.lookup("k").body == nullptr);
    CHECK(cache.entries() == 0);
  }

  TEST_CASE("response cache: an expired entry is reloaded by one caller while the others get the old body") {
    ResponseCache cache(options(std::chrono::milliseconds(200)));
    auto old = body("old");
    cache.put("k", old, cache.generation());
    auto fresh = cache.lookup("k");
    CHECK(fresh.body == old);
    CHECK_FALSE(fresh.refresh);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // expired, within the grace period
    CHECK(cache.get("k") == nullptr);  // get() wants fresh bodies only
    const auto generation = cache.generation();
    auto first = cache.lookup("k");
    CHECK(first.body == old);
    CHECK(first.refresh);  // this one reloads ...
    for (int i = 0; i < 5; ++i) {
      auto other = cache.lookup("k");
      CHECK(other.body == old);  // ... the others are served meanwhile, without a database trip
      CHECK_FALSE(other.refresh);
    }
    auto reloaded = body("new");
    cache.put("k", reloaded, generation);
    auto after = cache.lookup("k");
    CHECK(after.body == reloaded);
    CHECK_FALSE(after.refresh);
    // An invalidation ends the grace at once: old bodies are never served after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    cache.invalidate_all();
    CHECK(cache.lookup("k").body == nullptr);
  }

  TEST_CASE("response cache: invalidation drops every entry and refuses values loaded before it") {
    ResponseCache cache(options());
    for (int i = 0; i < 50; ++i) cache.put("k" + std::to_string(i), body("v"), cache.generation());
    CHECK(cache.entries() == 50);
    const auto before = cache.generation();  // a reader starts loading ...
    cache.invalidate_all();                  // ... an admin write commits ...
    cache.put("late", body("stale"), before);  // ... and the reader's old value must not be kept
    CHECK(cache.get("late") == nullptr);
    CHECK(cache.entries() == 0);
    CHECK(cache.bytes() == 0);
    for (int i = 0; i < 50; ++i) CHECK(cache.get("k" + std::to_string(i)) == nullptr);
    cache.put("fresh", body("new"), cache.generation());
    CHECK(cache.get("fresh") != nullptr);
  }

  TEST_CASE("response cache: memory stays within the byte budget, least recently used go first") {
    // 4 shards of 16 KiB; bodies of 1 KiB.
    ResponseCache cache(options(std::chrono::seconds(60), 64 * 1024, 4));
    const std::string kib(1024, 'x');
    for (int i = 0; i < 1000; ++i) {
      cache.put("key-" + std::to_string(i), body(kib), cache.generation());
      CHECK(cache.bytes() <= 64 * 1024);
    }
    CHECK(cache.entries() < 64);
    CHECK(cache.entries() > 20);
    CHECK(cache.get("key-999") != nullptr);  // the newest survive
    CHECK(cache.get("key-0") == nullptr);
    cache.put("huge", body(std::string(32 * 1024, 'y')), cache.generation());  // larger than a shard: not kept
    CHECK(cache.get("huge") == nullptr);
  }

  TEST_CASE("response cache: concurrent readers, writers and invalidations keep it consistent") {
    ResponseCache cache(options(std::chrono::seconds(60), 256 * 1024, 8));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&cache, t] {
        for (int i = 0; i < 2000; ++i) {
          const auto key = "k" + std::to_string((i * 7 + t) % 300);
          if (auto hit = cache.get(key)) {
            CHECK(hit->size() == 100);
          } else {
            cache.put(key, body(std::string(100, 'z')), cache.generation());
          }
          if (i % 500 == 0) cache.invalidate_all();
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(cache.bytes() <= 256 * 1024);
    cache.invalidate_all();
    CHECK(cache.entries() == 0);
    CHECK(cache.bytes() == 0);
  }

  TEST_CASE("response cache: hit and miss counters and sizes are exported as metrics") {
    platform::Metrics metrics;
    ResponseCache cache(options());
    cache.register_metrics(metrics);
    cache.get("nope");
    cache.put("yes", body("abc"), cache.generation());
    cache.get("yes");
    const auto text = metrics.render();
    CHECK(text.find("bazaar_response_cache_hits_total{cache=\"test\"} 1") != std::string::npos);
    CHECK(text.find("bazaar_response_cache_misses_total{cache=\"test\"} 1") != std::string::npos);
    CHECK(text.find("bazaar_response_cache_entries{cache=\"test\"} 1") != std::string::npos);
  }
}

TEST_SUITE("redis") {
  TEST_CASE("response cache: invalidations reach the other instances through Redis, not the sender twice") {
    ResponseCache a(options());
    ResponseCache b(options());
    const std::string channel = "bazaar:test:cache:" + testing::unique_suffix();
    a.connect_redis(testing::redis_url(), channel);
    b.connect_redis(testing::redis_url(), channel);
    REQUIRE(eventually([&] { return a.redis_subscribed() && b.redis_subscribed(); }));
    b.put("product|1", body("old"), b.generation());
    a.put("product|1", body("old"), a.generation());
    a.invalidate_all();
    CHECK(a.get("product|1") == nullptr);
    CHECK(eventually([&] { return b.get("product|1") == nullptr; }));
    // The sender ignores its own message: what it cached after its invalidation stays.
    a.put("product|2", body("new"), a.generation());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(a.get("product|2") != nullptr);
    a.stop();
    b.stop();
  }

  TEST_CASE("response cache: without a reachable Redis the local cache works and stopping is quick") {
    ResponseCache cache(options());
    cache.connect_redis("redis://127.0.0.1:1/0", "bazaar:test:unreachable");
    cache.put("k", body("v"), cache.generation());
    CHECK(cache.get("k") != nullptr);
    cache.invalidate_all();
    CHECK(cache.get("k") == nullptr);
    CHECK_FALSE(cache.redis_subscribed());
    const auto started = std::chrono::steady_clock::now();
    cache.stop();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    CHECK_THROWS_AS(ResponseCache(options()).connect_redis("http://x", "c"), std::invalid_argument);
  }
}
