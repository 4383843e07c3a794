#pragma once
// Plain values the catalog hands to other modules.
#include <platform/money.hpp>

#include <string>
#include <vector>

namespace bazaar::catalog {

// What the cart and checkout need to know about a variant, always current (never from a cache).
struct VariantSnapshot {
  std::string variant_id;
  std::string product_id;
  std::string sku;
  std::string title;  // "<product title> — <variant title>"
  platform::Money price;
  int available = 0;         // on_hand - reserved, never negative
  bool purchasable = false;  // the variant exists and its product is published
};

struct StockLine {
  std::string variant_id;
  int quantity = 0;
};

struct StockShortage {
  std::string variant_id;
  int requested = 0;
  int available = 0;
};

}  // namespace bazaar::catalog
