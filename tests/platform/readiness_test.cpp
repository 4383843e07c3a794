// Liveness and readiness: /readyz follows the database (through a TCP proxy the test can pause) and Redis,
// while /healthz only says that the process runs.
#include "support/platform_app.hpp"
#include "support/raw_connection.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_env.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using testing::HttpResponse;

namespace {

// Polls /readyz until it answers `status` (at most 5 s); returns the last response.
HttpResponse poll_readyz(const testing::HttpClient& client, int status) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  HttpResponse r = client.get("/readyz");
  while (r.status != status && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling interval
    r = client.get("/readyz");
  }
  return r;
}

platform::Config through_proxy(const testing::TcpProxy& proxy) {
  auto cfg = testing::test_config();
  cfg.set("https.listen", "");
  cfg.set("database.url", boost::json::string(testing::with_host_port(testing::database_url(), "127.0.0.1", proxy.port())));
  cfg.set("database.pool_size", 2);
  cfg.set("database.acquire_timeout_ms", 500);
  return cfg;
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("http: /readyz is 503 while the database is unreachable and 200 again once it is back") {
    const auto db = testing::host_port_of(testing::database_url(), 5432);
    testing::TcpProxy proxy(db.host, db.port);
    testing::PlatformApp app(through_proxy(proxy));
    const auto client = app.http();

    auto up = poll_readyz(client, 200);
    REQUIRE(up.status == 200);
    CHECK(up.json().at("status") == "ready");
    CHECK(up.json().at("checks").at("database") == "ok");
    CHECK_FALSE(up.json().at("checks").as_object().contains("redis"));  // not configured, not checked
    CHECK(proxy.connections() > 0);  // the app really talks through the proxy

    proxy.pause();
    auto down = poll_readyz(client, 503);
    REQUIRE(down.status == 503);
    CHECK(down.json().at("status") == "unavailable");
    CHECK(down.json().at("checks").at("database") == "unavailable");
    CHECK(down.header("Retry-After").has_value());
    CHECK(down.header("Content-Type") == "application/json");
    // Liveness is not readiness: the process still runs and says so.
    CHECK(client.get("/healthz").status == 200);
    // Requests that need the database fail fast with a 503 problem, not a hang or a 500.
    const auto admin = app.token_for("0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091", "admin");
    auto events = client.get("/admin/v1/events", admin);
    CHECK(events.status == 503);
    CHECK(events.header("Content-Type") == "application/problem+json");
    CHECK(events.header("Retry-After").has_value());

    proxy.resume();
    auto back = poll_readyz(client, 200);
    REQUIRE(back.status == 200);
    CHECK(back.json().at("checks").at("database") == "ok");
    CHECK(client.get("/admin/v1/events", admin).status == 200);
  }

  TEST_CASE("http: /readyz checks Redis when it is configured") {
    SUBCASE("Redis answers") {
      auto cfg = testing::test_config();
      cfg.set("https.listen", "");
      cfg.set("redis.url", boost::json::string(testing::redis_url()));
      testing::PlatformApp app(cfg);
      auto r = poll_readyz(app.http(), 200);
      CHECK(r.status == 200);
      CHECK(r.json().at("checks").at("redis") == "ok");
      CHECK(r.json().at("checks").at("database") == "ok");
    }
    SUBCASE("Redis is down") {
      auto cfg = testing::test_config();
      cfg.set("https.listen", "");
      cfg.set("redis.url", boost::json::string("redis://127.0.0.1:" + std::to_string(testing::closed_port()) + "/0"));
      testing::PlatformApp app(cfg);
      auto r = app.http().get("/readyz");
      CHECK(r.status == 503);
      CHECK(r.json().at("checks").at("redis") == "unavailable");
      CHECK(r.json().at("checks").at("database") == "ok");
      CHECK(app.http().get("/healthz").status == 200);
    }
  }
}
