// The SQL round-trip counter the module tests hold their budgets with (support/round_trips.hpp): it must
// count exactly, or a budget test proves nothing.
#include "support/round_trips.hpp"

#include <doctest/doctest.h>

using namespace bazaar;

TEST_SUITE("platform") {
  TEST_CASE("round trips: /readyz costs one, a second call one more, /healthz none") {
    testing::RoundTripApp probe;
    auto http = probe.http();
    REQUIRE(http.get("/readyz").status == 200);  // warm-up
    CHECK(probe.count([&] { REQUIRE(http.get("/readyz").status == 200); }) == 1);
    CHECK(probe.count([&] {
      REQUIRE(http.get("/readyz").status == 200);
      REQUIRE(http.get("/readyz").status == 200);
    }) == 2);
    CHECK(probe.count([&] { REQUIRE(http.get("/healthz").status == 200); }) == 0);
  }
}
