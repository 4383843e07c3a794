#pragma once
// What a product list request asks for (API.md "Catalog": q, category, min_price, max_price, in_stock,
// sort, limit, cursor), validated into one value. Pure: the HTTP layer hands in a parameter look-up.
#include <platform/error.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::catalog::domain {

enum class Sort { relevance, price_asc, price_desc, newest, title };

std::optional<Sort> parse_sort(std::string_view text);
std::string_view to_string(Sort sort);

// Where the previous page ended: its last row's sort key (as text) and id.
struct Cursor {
  std::string key;
  std::string id;
};

struct ListQuery {
  std::string q;         // full-text query, trimmed; empty: none
  std::string category;  // a category id or slug; empty: all
  std::optional<std::int64_t> min_price;  // minor units, inclusive
  std::optional<std::int64_t> max_price;
  std::optional<bool> in_stock;
  Sort sort = Sort::newest;
  int limit = 20;
  std::optional<Cursor> after;

  // Equal for requests that must get the same answer; the response cache key.
  std::string cache_key() const;
};

struct AdminListQuery {
  std::string status;  // draft|published|archived, or empty for all
  std::string q;
  int limit = 20;
  std::optional<std::string> after_id;  // newest first: the last id of the previous page
};

struct LowStockQuery {
  int threshold = 5;
  int limit = 20;
  std::optional<Cursor> after;  // key: available
};

using ParamLookup = std::function<std::optional<std::string>(std::string_view name)>;

inline constexpr std::size_t kMaxQueryLength = 200;
inline constexpr std::int64_t kMaxPrice = 1'000'000'000'000;  // minor units, as platform::read_money

// 422 with one field error per bad parameter. Without q the default sort is newest, with q relevance;
// sort=relevance without q is an error. A cursor must come from a list with the same sort.
platform::Result<ListQuery> parse_list_query(const ParamLookup& param);
platform::Result<AdminListQuery> parse_admin_list_query(const ParamLookup& param);
platform::Result<LowStockQuery> parse_low_stock_query(const ParamLookup& param, int default_threshold);

std::string encode_list_cursor(Sort sort, const std::string& key, const std::string& id);
std::string encode_admin_cursor(const std::string& id);
std::string encode_low_stock_cursor(std::int64_t available, const std::string& id);

}  // namespace bazaar::catalog::domain
