#include "domain/pricing.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace bazaar::cart::domain {

PricedCart price(const std::vector<StoredLine>& lines, const Snapshots& snapshots) {
  PricedCart cart;
  for (const auto& line : lines) {
    PricedLine priced{line, line.unit_price, 0};
    cart.item_count += line.quantity;
    auto it = snapshots.find(line.variant_id);
    if (it == snapshots.end() || !it->second.purchasable) {
      cart.warnings.push_back({line.id, "unavailable", fmt::format("{} is no longer available.", line.title)});
      priced.line_total = line.unit_price * line.quantity;
      cart.lines.push_back(std::move(priced));
      continue;
    }
    const auto& snap = it->second;
    priced.unit_price = snap.price.amount;
    priced.line_total = snap.price.amount * line.quantity;  // ≤ 10^12 · 999: no overflow
    if (snap.price.amount != line.unit_price) {
      cart.warnings.push_back({line.id, "price_changed",
                               fmt::format("The price of {} changed from {} to {}.", line.title, line.unit_price,
                                           snap.price.amount)});
    }
    if (snap.available < line.quantity) {
      cart.warnings.push_back({line.id, "insufficient_stock",
                               fmt::format("Only {} of {} are available.", std::max(snap.available, 0), line.title)});
    }
    cart.subtotal += priced.line_total;
    cart.lines.push_back(std::move(priced));
  }
  return cart;
}

int merged_quantity(int a, int b, int available) {
  return std::max(0, std::min({a + b, std::max(available, 0), kMaxQuantity}));
}

}  // namespace bazaar::cart::domain
