#pragma once
// Pricing a cart: stored lines + the catalog's current snapshots → priced lines, warnings and totals.
// Pure: no I/O, so every rule is unit-tested directly.
#include <catalog/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace bazaar::cart::domain {

inline constexpr int kMaxQuantity = 999;
inline constexpr std::size_t kMaxLines = 100;

struct StoredLine {
  std::string id;
  std::string variant_id;
  std::string product_id;
  std::string sku;
  std::string title;
  int quantity = 0;
  std::int64_t unit_price = 0;  // as shown when the line was last added
};

struct PricedLine {
  StoredLine line;
  std::int64_t unit_price = 0;  // the catalog's current price (the stored one when unavailable)
  std::int64_t line_total = 0;
};

struct Warning {
  std::string item_id;
  std::string code;  // price_changed | insufficient_stock | unavailable
  std::string message;
};

struct PricedCart {
  std::vector<PricedLine> lines;
  std::vector<Warning> warnings;
  std::int64_t subtotal = 0;  // purchasable lines only
  int item_count = 0;
};

using Snapshots = std::unordered_map<std::string, catalog::VariantSnapshot>;

PricedCart price(const std::vector<StoredLine>& lines, const Snapshots& snapshots);

// The quantity two lines of one variant merge to: their sum, capped by availability and kMaxQuantity.
int merged_quantity(int a, int b, int available);

}  // namespace bazaar::cart::domain
