// Graceful shutdown: stop accepting, let the request in flight finish and get its response, close idle
// connections at once, and cut off what outlives the grace period.
#include "support/eventually.hpp"
#include "support/platform_app.hpp"
#include "support/raw_connection.hpp"
#include "support/test_env.hpp"
#include "support/test_routes.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using testing::eventually;

std::unique_ptr<testing::PlatformApp> start(std::shared_ptr<testing::Gate> gate, int grace_ms = 5000) {
  auto cfg = testing::test_config();
  cfg.set("https.listen", "");
  cfg.set("http.shutdown_grace_ms", grace_ms);
  return std::make_unique<testing::PlatformApp>(
      std::move(cfg), [gate](platform::Platform& p) { testing::add_test_routes(p, gate); });
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("http: graceful shutdown lets the request in flight finish, then refuses new connections") {
    auto gate = std::make_shared<testing::Gate>();
    auto app = start(gate);
    const auto port = app->platform_port("http");
    auto in_flight = std::async(std::launch::async, [client = app->http()] { return client.get("/test/block"); });
    testing::GateRelease release_on_failure{*gate};
    REQUIRE(gate->wait_entered(1));

    auto stopped = std::async(std::launch::async, [&app] { app->platform().stop(); });
    // The listener goes first: new connections are refused while the request is still in flight.
    REQUIRE(eventually([&] { return testing::connection_refused(port); }));
    CHECK(stopped.wait_for(0ms) == std::future_status::timeout);  // stop() waits for the request
    CHECK(gate->left() == 0);

    gate->release();
    REQUIRE(in_flight.wait_for(5s) == std::future_status::ready);
    auto r = in_flight.get();
    CHECK(r.status == 200);
    CHECK(r.json().at("released") == true);
    CHECK(r.header("Connection") == "close");  // no keep-alive while shutting down
    REQUIRE(stopped.wait_for(5s) == std::future_status::ready);
    stopped.get();
    CHECK(testing::connection_refused(port));
    app->platform().stop();  // idempotent
  }

  TEST_CASE("http: shutdown closes idle keep-alive connections without waiting for them") {
    auto gate = std::make_shared<testing::Gate>();
    auto app = start(gate);
    testing::RawConnection idle(app->platform_port("http"));
    REQUIRE(idle.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(idle.read_response().has_value());
    const auto started = Clock::now();
    app->platform().stop();
    CHECK(Clock::now() - started < 2s);  // far below the 5 s grace period
    CHECK(idle.wait_closed(2s));
  }

  TEST_CASE("http: a request that outlives the grace period is cut off and stop() still returns") {
    auto gate = std::make_shared<testing::Gate>();
    auto app = start(gate, /*grace_ms=*/300);
    auto in_flight = std::async(std::launch::async, [client = app->http()] { return client.get("/test/block"); });
    testing::GateRelease release_on_failure{*gate};
    REQUIRE(gate->wait_entered(1));
    const auto started = Clock::now();
    app->platform().stop();
    CHECK(Clock::now() - started < 3s);
    CHECK(Clock::now() - started >= 250ms);  // it did wait for the request first
    REQUIRE(in_flight.wait_for(5s) == std::future_status::ready);
    CHECK_THROWS(in_flight.get());  // the connection was closed without a response
  }
}
