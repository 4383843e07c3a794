// Cart pricing rules, without a database.
#include "domain/pricing.hpp"

#include <doctest/doctest.h>

using namespace bazaar;
using cart::domain::price;
using cart::domain::StoredLine;

namespace {
catalog::VariantSnapshot snap(std::string id, std::int64_t price, int available, bool purchasable = true) {
  return {id, "p-" + id, "SKU-" + id, "Title " + id, {price, "EUR"}, available, purchasable};
}
}  // namespace

TEST_CASE("cart pricing: lines are priced from the catalog's current price") {
  std::vector<StoredLine> lines{{"i1", "v1", "p-v1", "SKU-v1", "Title v1", 2, 1000}};
  auto priced = price(lines, {{"v1", snap("v1", 1200, 10)}});
  REQUIRE(priced.lines.size() == 1);
  CHECK(priced.lines[0].unit_price == 1200);
  CHECK(priced.lines[0].line_total == 2400);
  CHECK(priced.subtotal == 2400);
  CHECK(priced.item_count == 2);
  REQUIRE(priced.warnings.size() == 1);
  CHECK(priced.warnings[0].code == "price_changed");
  CHECK(priced.warnings[0].item_id == "i1");
}

TEST_CASE("cart pricing: stock below the quantity is a warning, not a silent change") {
  std::vector<StoredLine> lines{{"i1", "v1", "p", "S", "T", 5, 1000}};
  auto priced = price(lines, {{"v1", snap("v1", 1000, 3)}});
  REQUIRE(priced.warnings.size() == 1);
  CHECK(priced.warnings[0].code == "insufficient_stock");
  CHECK(priced.lines[0].line.quantity == 5);
}

TEST_CASE("cart pricing: an unknown or unpublished variant is unavailable and left out of the subtotal") {
  std::vector<StoredLine> lines{{"i1", "gone", "p", "S", "Gone", 1, 500}, {"i2", "v2", "p", "S", "Hidden", 1, 700},
                                {"i3", "v3", "p", "S", "Fine", 1, 300}};
  auto priced = price(lines, {{"v2", snap("v2", 700, 5, false)}, {"v3", snap("v3", 300, 5)}});
  CHECK(priced.subtotal == 300);
  CHECK(priced.item_count == 3);
  REQUIRE(priced.warnings.size() == 2);
  CHECK(priced.warnings[0].code == "unavailable");
  CHECK(priced.warnings[1].code == "unavailable");
}

TEST_CASE("cart pricing: merged quantities add up, capped by availability and the line maximum") {
  using cart::domain::merged_quantity;
  CHECK(merged_quantity(2, 3, 10) == 5);
  CHECK(merged_quantity(2, 3, 4) == 4);
  CHECK(merged_quantity(600, 600, 5000) == 999);
  CHECK(merged_quantity(1, 1, -3) == 0);
}
