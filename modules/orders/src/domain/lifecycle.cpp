#include "domain/lifecycle.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <utility>

namespace bazaar::orders::domain {

bool can_transition(std::string_view from, std::string_view to) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kAllowed = {{
      {"pending_payment", "paid"},
      {"pending_payment", "cancelled"},
      {"paid", "shipped"},
      {"paid", "cancelled"},
      {"paid", "refunded"},
      {"shipped", "delivered"},
      {"shipped", "refunded"},
      {"delivered", "refunded"},
  }};
  for (const auto& [f, t] : kAllowed) {
    if (f == from && t == to) return true;
  }
  return false;
}

bool is_status(std::string_view s) {
  return s == "pending_payment" || s == "paid" || s == "shipped" || s == "delivered" || s == "cancelled" ||
         s == "refunded";
}

bool is_payment_status(std::string_view s) {
  return s == "pending" || s == "authorized" || s == "captured" || s == "failed" || s == "refunded" ||
         s == "partially_refunded";
}

std::string format_number(std::int64_t number) { return fmt::format("BZR-{:06}", number); }

std::int64_t parse_number(std::string_view text) {
  if (text.size() > 4 && (text.substr(0, 4) == "BZR-" || text.substr(0, 4) == "bzr-")) text.remove_prefix(4);
  if (text.empty() || text.size() > 15) return -1;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 0) return -1;
  return n;
}

}  // namespace bazaar::orders::domain
