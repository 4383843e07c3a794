#pragma once
// Money: integer minor units plus an ISO 4217 currency. Never floating point (API.md), anywhere.
#include <platform/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace bazaar::platform {

struct Money {
  std::int64_t amount = 0;  // minor units (cents)
  std::string currency;     // "EUR"

  friend bool operator==(const Money&, const Money&) = default;
};

boost::json::object money_json(const Money& m);
bool is_currency_code(std::string_view code);  // three upper-case letters

// Reads {"amount": int, "currency": "EUR"} at `key`; amount in [min_amount, 10^12], currency must equal
// `store_currency` (one store currency: others are 422). Errors are recorded in `r`.
std::optional<Money> read_money(FieldReader& r, std::string_view key, bool required, const std::string& store_currency,
                                std::int64_t min_amount = 0);

// Overflow-checked arithmetic for totals: nullopt when the result would not fit.
std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b);
std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b);

}  // namespace bazaar::platform
