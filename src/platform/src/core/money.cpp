#include <platform/money.hpp>

#include <algorithm>

namespace bazaar::platform {

boost::json::object money_json(const Money& m) { return {{"amount", m.amount}, {"currency", m.currency}}; }

bool is_currency_code(std::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::optional<Money> read_money(FieldReader& r, std::string_view key, bool required, const std::string& store_currency,
                                std::int64_t min_amount) {
  const json::object* obj = r.object(key, required);
  if (!obj) return std::nullopt;
  FieldReader inner(*obj, std::string(key));
  auto amount = inner.integer("amount", true, min_amount, 1'000'000'000'000LL);
  auto currency = inner.string("currency", true, 3, 3);
  if (currency && !is_currency_code(*currency)) {
    inner.fail("currency", "must be an ISO 4217 code such as \"EUR\"");
  } else if (currency && *currency != store_currency) {
    inner.fail("currency", "must be the store currency " + store_currency);
  }
  for (const auto& e : inner.errors()) r.fail(e.field, e.message);  // already "price.amount"
  if (!inner.ok() || !amount || !currency) return std::nullopt;
  return Money{*amount, *currency};
}

std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

}  // namespace bazaar::platform
