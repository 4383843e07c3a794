// The catalog's SQL round-trip budgets (issue: product 1, list of 20 at most 2), counted at the database's
// socket (support/round_trips.hpp) with the response cache off, so that every read reaches the database.
#include "support/round_trips.hpp"
#include "support/shop.hpp"

#include <doctest/doctest.h>

using namespace bazaar;

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: a product read costs 1 SQL round trip and a list page of 20 at most 2 (cache off)") {
    testing::RoundTripApp probe([](platform::Config& c) { c.set("catalog.cache_enabled", false); });
    auto admin = testing::new_admin(probe.app());
    const auto product = testing::new_product(probe.app(), admin, 1500, 10);
    auto http = probe.http();
    const std::string product_path = "/api/v1/products/" + product.product_id;
    REQUIRE(http.get(product_path).status == 200);  // warm-up: statements prepared
    REQUIRE(http.get("/api/v1/products?limit=20").status == 200);
    REQUIRE(http.get("/api/v1/products?limit=20&q=bench").status == 200);
    REQUIRE(http.get("/api/v1/products/not-a-known-slug").status == 404);  // the by-slug statement

    CHECK(probe.count([&] { REQUIRE(http.get(product_path).status == 200); }) == 1);
    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/products?limit=20").status == 200); }) <= 2);
    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/products?limit=20&q=bench").status == 200); }) <= 2);
    CHECK(probe.count([&] { REQUIRE(http.get("/api/v1/products/not-a-known-slug").status == 404); }) == 1);
  }
}
