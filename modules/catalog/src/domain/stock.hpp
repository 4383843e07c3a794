#pragma once
// Stock arithmetic: what a customer may buy, when stock counts as low, and how reservation requests are
// normalised. Pure rules; the database enforces the same invariants with CHECK constraints.
#include <catalog/types.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::catalog::domain {

// What can still be sold: on_hand - reserved, never negative.
inline int available(long long on_hand, long long reserved) {
  return static_cast<int>(std::max<long long>(on_hand - reserved, 0));
}

// catalog.stock_low is announced when stock actually went down (a sale was confirmed, or an admin lowered
// on_hand) and what remains available is at or below the threshold. Raising stock never alerts.
inline bool is_stock_low_after(long long on_hand_before, long long on_hand_after, int available_after, int threshold) {
  return on_hand_after < on_hand_before && available_after <= threshold;
}

inline constexpr int kMaxReservationQuantity = 1'000'000;

// Lines of one reservation, one per variant (quantities of repeated variants added up), ordered by variant
// id; nullopt when a quantity is not positive, a sum exceeds kMaxReservationQuantity, or there are none.
inline std::optional<std::vector<StockLine>> merge_lines(const std::vector<StockLine>& lines) {
  if (lines.empty()) return std::nullopt;
  std::map<std::string, long long> merged;
  for (const auto& line : lines) {
    if (line.quantity <= 0) return std::nullopt;
    auto& q = merged[line.variant_id];
    q += line.quantity;
    if (q > kMaxReservationQuantity) return std::nullopt;
  }
  std::vector<StockLine> out;
  out.reserve(merged.size());
  for (const auto& [id, q] : merged) out.push_back({id, static_cast<int>(q)});
  return out;
}

}  // namespace bazaar::catalog::domain
