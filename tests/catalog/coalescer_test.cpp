// Coalesced cache misses: one request per key loads, the others wait for its result.
#include "load_coalescer.hpp"
#include "support/async.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace bazaar;
using catalog::LoadCoalescer;

TEST_SUITE("catalog") {
  TEST_CASE("catalog: concurrent misses of one key make one leader; the followers get its body") {
    LoadCoalescer loads;
    auto leader = loads.join("k");
    CHECK(leader.leader);
    auto follower = loads.join("k");
    CHECK_FALSE(follower.leader);
    CHECK(follower.flight == leader.flight);
    CHECK(loads.join("other").leader);

    std::optional<LoadCoalescer::Body> seen;
    std::thread waiting([&] { seen = testing::run_awaitable(LoadCoalescer::wait(follower.flight)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the follower is (most likely) waiting now
    auto body = std::make_shared<const std::string>("{}");
    loads.finish("k", leader.flight, body, false);
    waiting.join();
    REQUIRE(seen.has_value());
    CHECK(*seen == body);

    // Finished flights answer at once, and the next miss leads a new load.
    auto late = testing::run_awaitable(LoadCoalescer::wait(leader.flight));
    REQUIRE(late.has_value());
    CHECK(*late == body);
    CHECK(loads.join("k").leader);
  }

  TEST_CASE("catalog: when the leading load fails the followers are told to load for themselves") {
    LoadCoalescer loads;
    auto leader = loads.join("k");
    auto follower = loads.join("k");
    loads.finish("k", leader.flight, nullptr, true);
    CHECK_FALSE(testing::run_awaitable(LoadCoalescer::wait(follower.flight)).has_value());
    // Not found (a null body) is a result, not a failure.
    auto again = loads.join("k");
    auto other = loads.join("k");
    loads.finish("k", again.flight, nullptr, false);
    auto result = testing::run_awaitable(LoadCoalescer::wait(other.flight));
    REQUIRE(result.has_value());
    CHECK(*result == nullptr);
  }
}
