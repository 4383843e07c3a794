// The global per-IP rate limit over HTTP: in-process, shared through Redis between instances, and falling
// back to in-process counting when Redis is down, without failing a request.
#include "support/platform_app.hpp"
#include "support/raw_connection.hpp"
#include "support/test_env.hpp"

#include <platform/cache.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

using namespace bazaar;
using testing::HttpRequest;
using testing::HttpResponse;

namespace {

constexpr int kPerMinute = 3;

platform::Config rate_limited_config() {
  auto cfg = testing::test_config();
  cfg.set("https.listen", "");
  cfg.set("rate_limit.enabled", true);
  cfg.set("rate_limit.per_ip_per_minute", kPerMinute);
  return cfg;
}

// The index of the current fixed 60 s window on `Clock` (steady for in-process, system for Redis).
template <class Clock>
std::int64_t window_index() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count() / 60;
}

// Runs `attempt` until one run falls entirely inside one rate-limit window (a run that straddles a window
// boundary sees its count reset halfway), at most three times, and returns that run's result.
template <class Clock, class F>
auto within_one_window(F attempt) {
  for (int i = 0;; ++i) {
    const auto before = window_index<Clock>();
    auto result = attempt();
    if (window_index<Clock>() == before || i == 2) return result;
  }
}

// A client address of its own (through X-Forwarded-For), so runs against one Redis never share counters.
std::string fresh_ip() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> octet(1, 254);
  return "10." + std::to_string(octet(rng)) + "." + std::to_string(octet(rng)) + "." + std::to_string(octet(rng));
}

HttpResponse get_as(const testing::HttpClient& client, const std::string& target, const std::string& ip) {
  return client.send(HttpRequest{"GET", target, {}, {{"X-Forwarded-For", ip + ", 192.0.2.1"}}, {}});
}

void check_limited(const HttpResponse& r) {
  CHECK(r.status == 429);
  CHECK(r.header("Content-Type") == "application/problem+json");
  auto doc = r.json().as_object();
  CHECK(doc.at("code") == "rate_limited");
  CHECK(doc.at("status") == 429);
  CHECK(doc.at("request_id").as_string() == r.header("X-Request-Id").value_or("<none>"));
  REQUIRE(r.header("Retry-After").has_value());
  const int retry = std::stoi(*r.header("Retry-After"));
  CHECK(retry >= 1);
  CHECK(retry <= 60);
}

std::vector<std::string> rate_keys(platform::RedisClient& redis, const std::string& ip) {
  std::vector<std::string> keys;
  if (auto reply = redis.command({"KEYS", "bazaar:rl:ip:" + ip + ":*"})) {
    for (const auto& k : reply->elements) keys.push_back(k.str);
  }
  return keys;
}

void delete_rate_keys(platform::RedisClient& redis, const std::string& ip) {
  for (const auto& k : rate_keys(redis, ip)) redis.command({"DEL", k});
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("http: past rate_limit.per_ip_per_minute a client gets 429 with Retry-After; /healthz is exempt") {
    struct Run {
      std::vector<HttpResponse> first;
      HttpResponse limited, health, ready, metrics, limited_again;
    };
    auto run = within_one_window<std::chrono::steady_clock>([] {
      testing::PlatformApp app(rate_limited_config());  // a fresh app: fresh in-process counters
      Run out;
      for (int i = 0; i < kPerMinute; ++i) out.first.push_back(app.http().get("/.well-known/jwks.json"));
      out.limited = app.http().get("/.well-known/jwks.json");
      out.health = app.http().get("/healthz");
      out.ready = app.http().get("/readyz");
      out.metrics = app.http().get("/metrics");
      out.limited_again = app.http().get("/no/such/route");  // every route counts, known or not
      return out;
    });
    for (const auto& r : run.first) CHECK(r.status == 200);
    check_limited(run.limited);
    CHECK(run.health.status == 200);
    CHECK(run.ready.status == 200);
    CHECK(run.metrics.status != 429);  // 401 without a token, but not rate limited
    check_limited(run.limited_again);
  }

  TEST_CASE("http: with rate_limit.enabled false nothing is limited") {
    auto cfg = rate_limited_config();
    cfg.set("rate_limit.enabled", false);
    testing::PlatformApp app(cfg);
    for (int i = 0; i < 3 * kPerMinute; ++i) CHECK(app.http().get("/.well-known/jwks.json").status == 200);
  }

  TEST_CASE("http: with Redis the per-IP limit is shared by every instance") {
    auto cfg = rate_limited_config();
    cfg.set("redis.url", boost::json::string(testing::redis_url()));
    cfg.set("http.trust_forwarded_for", true);
    testing::PlatformApp one(cfg);
    testing::PlatformApp two(cfg);
    platform::RedisClient redis(testing::redis_url(), 1);
    REQUIRE(redis.ping());

    struct Run {
      std::string ip;
      std::vector<HttpResponse> allowed;
      HttpResponse limited, other_ip, health;
      std::vector<std::string> keys;
      std::string count;
    };
    auto run = within_one_window<std::chrono::system_clock>([&] {
      Run out;
      out.ip = fresh_ip();
      delete_rate_keys(redis, out.ip);
      // Two hits on one instance, one on the other: the fourth, anywhere, is over the limit.
      out.allowed.push_back(get_as(one.http(), "/.well-known/jwks.json", out.ip));
      out.allowed.push_back(get_as(two.http(), "/.well-known/jwks.json", out.ip));
      out.allowed.push_back(get_as(one.http(), "/.well-known/jwks.json", out.ip));
      out.limited = get_as(two.http(), "/.well-known/jwks.json", out.ip);
      out.other_ip = get_as(two.http(), "/.well-known/jwks.json", fresh_ip());
      out.health = get_as(one.http(), "/healthz", out.ip);
      out.keys = rate_keys(redis, out.ip);
      if (out.keys.size() == 1) {
        if (auto v = redis.command({"GET", out.keys[0]})) out.count = v->str;
      }
      return out;
    });
    CAPTURE(run.ip);
    for (const auto& r : run.allowed) CHECK(r.status == 200);
    check_limited(run.limited);
    CHECK(run.other_ip.status == 200);  // another client has its own budget
    CHECK(run.health.status == 200);
    // The count lives in Redis under bazaar:rl:ip:<ip>:<window start>, with an expiry.
    REQUIRE(run.keys.size() == 1);
    CHECK(run.count == "4");
    auto ttl = redis.command({"PTTL", run.keys[0]});
    REQUIRE(ttl.has_value());
    CHECK(ttl->integer > 0);
    CHECK(ttl->integer <= 62000);
    delete_rate_keys(redis, run.ip);
  }

  TEST_CASE("http: with Redis unreachable rate limiting falls back to in-process and no request fails") {
    auto cfg = rate_limited_config();
    cfg.set("redis.url", boost::json::string("redis://127.0.0.1:" + std::to_string(testing::closed_port()) + "/0"));
    SUBCASE("under the limit every request is served") {
      cfg.set("rate_limit.per_ip_per_minute", 1000);
      testing::PlatformApp app(cfg);
      const auto started = std::chrono::steady_clock::now();
      for (int i = 0; i < 20; ++i) {
        auto r = app.http().get("/.well-known/jwks.json");
        CHECK(r.status == 200);
      }
      CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));  // no per-request Redis wait
    }
    SUBCASE("the in-process fallback still limits") {
      auto statuses = within_one_window<std::chrono::steady_clock>([&] {
        testing::PlatformApp app(cfg);
        std::vector<int> out;
        for (int i = 0; i <= kPerMinute; ++i) out.push_back(app.http().get("/.well-known/jwks.json").status);
        return out;
      });
      CHECK(statuses == std::vector<int>{200, 200, 200, 429});
    }
  }
}
