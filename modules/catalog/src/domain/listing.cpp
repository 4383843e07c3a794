#include "domain/listing.hpp"

#include "domain/slug.hpp"

#include <platform/ids.hpp>
#include <platform/pagination.hpp>

#include <charconv>
#include <cmath>

namespace bazaar::catalog::domain {

using platform::Error;
using platform::FieldError;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool is_finite_number(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty() && std::isfinite(v);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += std::to_string(value.size());
  out.push_back(':');
  out += value;
}

std::optional<int> parse_limit(const ParamLookup& param, std::vector<FieldError>& errors) {
  auto limit = param("limit");
  if (!limit) return 20;
  auto n = parse_int(*limit);
  if (!n || *n < 1 || *n > 100) {
    errors.push_back({"limit", "must be an integer between 1 and 100"});
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

// The decoded parts of a non-empty ?cursor=, or nullopt (absent, or an error was recorded).
std::optional<std::vector<std::string>> cursor_parts(const ParamLookup& param, std::size_t parts,
                                                     std::vector<FieldError>& errors) {
  auto cursor = param("cursor");
  if (!cursor || cursor->empty()) return std::nullopt;
  auto decoded = platform::decode_cursor(*cursor);
  if (!decoded || decoded->size() != parts) {
    errors.push_back({"cursor", "is not a cursor returned by this list"});
    return std::nullopt;
  }
  return decoded;
}

}  // namespace

std::optional<Sort> parse_sort(std::string_view text) {
  if (text == "relevance") return Sort::relevance;
  if (text == "price_asc") return Sort::price_asc;
  if (text == "price_desc") return Sort::price_desc;
  if (text == "newest") return Sort::newest;
  if (text == "title") return Sort::title;
  return std::nullopt;
}

std::string_view to_string(Sort sort) {
  switch (sort) {
    case Sort::relevance: return "relevance";
    case Sort::price_asc: return "price_asc";
    case Sort::price_desc: return "price_desc";
    case Sort::newest: return "newest";
    case Sort::title: return "title";
  }
  return "newest";
}

std::string ListQuery::cache_key() const {
  // Length-prefixed fields: no value can be mistaken for a separator.
  std::string key = "products|";
  append_field(key, "q", q);
  append_field(key, "c", category);
  append_field(key, "lo", min_price ? std::to_string(*min_price) : "");
  append_field(key, "hi", max_price ? std::to_string(*max_price) : "");
  append_field(key, "s", in_stock ? (*in_stock ? "1" : "0") : "");
  append_field(key, "o", to_string(sort));
  append_field(key, "l", std::to_string(limit));
  append_field(key, "k", after ? after->key : "");
  append_field(key, "i", after ? after->id : "");
  return key;
}

platform::Result<ListQuery> parse_list_query(const ParamLookup& param) {
  ListQuery out;
  std::vector<FieldError> errors;

  if (auto q = param("q")) {
    out.q = std::string(trim(*q));
    if (out.q.size() > kMaxQueryLength) errors.push_back({"q", "must be at most 200 characters"});
  }
  if (auto category = param("category"); category && !category->empty()) {
    if (auto id = platform::normalize_uuid(*category)) {
      out.category = *id;
    } else if (is_valid_slug(*category)) {
      out.category = *category;
    } else {
      errors.push_back({"category", "must be a category id or slug"});
    }
  }
  auto read_price = [&](std::string_view name) -> std::optional<std::int64_t> {
    auto raw = param(name);
    if (!raw || raw->empty()) return std::nullopt;
    auto v = parse_int(*raw);
    if (!v || *v < 0 || *v > kMaxPrice) {
      errors.push_back({std::string(name), "must be a whole amount in minor units between 0 and 10^12"});
      return std::nullopt;
    }
    return v;
  };
  out.min_price = read_price("min_price");
  out.max_price = read_price("max_price");
  if (out.min_price && out.max_price && *out.min_price > *out.max_price) {
    errors.push_back({"max_price", "must not be below min_price"});
  }
  if (auto stock = param("in_stock"); stock && !stock->empty()) {
    if (*stock == "true") {
      out.in_stock = true;
    } else if (*stock == "false") {
      out.in_stock = false;
    } else {
      errors.push_back({"in_stock", "must be true or false"});
    }
  }
  out.sort = out.q.empty() ? Sort::newest : Sort::relevance;
  if (auto sort = param("sort"); sort && !sort->empty()) {
    if (auto s = parse_sort(*sort)) {
      out.sort = *s;
      if (*s == Sort::relevance && out.q.empty()) errors.push_back({"sort", "relevance needs a search query (q)"});
    } else {
      errors.push_back({"sort", "must be one of relevance, price_asc, price_desc, newest, title"});
    }
  }
  if (auto limit = parse_limit(param, errors)) out.limit = *limit;
  if (auto parts = cursor_parts(param, 3, errors)) {
    const auto& p = *parts;
    bool ok = p[0] == to_string(out.sort) && platform::is_uuid(p[2]);
    switch (out.sort) {
      case Sort::relevance: ok = ok && is_finite_number(p[1]); break;
      case Sort::price_asc:
      case Sort::price_desc: ok = ok && parse_int(p[1]).has_value(); break;
      case Sort::newest: ok = ok && p[1].empty(); break;
      case Sort::title: ok = ok && p[1].size() <= 1000; break;
    }
    if (ok) {
      out.after = Cursor{p[1], p[2]};
    } else {
      errors.push_back({"cursor", "is not a cursor returned by a list with this sort"});
    }
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return out;
}

platform::Result<AdminListQuery> parse_admin_list_query(const ParamLookup& param) {
  AdminListQuery out;
  std::vector<FieldError> errors;
  if (auto status = param("status"); status && !status->empty()) {
    if (*status == "draft" || *status == "published" || *status == "archived") {
      out.status = *status;
    } else {
      errors.push_back({"status", "must be draft, published or archived"});
    }
  }
  if (auto q = param("q")) {
    out.q = std::string(trim(*q));
    if (out.q.size() > kMaxQueryLength) errors.push_back({"q", "must be at most 200 characters"});
  }
  if (auto limit = parse_limit(param, errors)) out.limit = *limit;
  if (auto parts = cursor_parts(param, 1, errors)) {
    if (platform::is_uuid((*parts)[0])) {
      out.after_id = (*parts)[0];
    } else {
      errors.push_back({"cursor", "is not a cursor returned by this list"});
    }
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return out;
}

platform::Result<LowStockQuery> parse_low_stock_query(const ParamLookup& param, int default_threshold) {
  LowStockQuery out;
  out.threshold = default_threshold;
  std::vector<FieldError> errors;
  if (auto t = param("threshold"); t && !t->empty()) {
    auto v = parse_int(*t);
    if (!v || *v < 0 || *v > 1'000'000) {
      errors.push_back({"threshold", "must be an integer between 0 and 1000000"});
    } else {
      out.threshold = static_cast<int>(*v);
    }
  }
  if (auto limit = parse_limit(param, errors)) out.limit = *limit;
  if (auto parts = cursor_parts(param, 2, errors)) {
    if (parse_int((*parts)[0]) && platform::is_uuid((*parts)[1])) {
      out.after = Cursor{(*parts)[0], (*parts)[1]};
    } else {
      errors.push_back({"cursor", "is not a cursor returned by this list"});
    }
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return out;
}

std::string encode_list_cursor(Sort sort, const std::string& key, const std::string& id) {
  return platform::encode_cursor({std::string(to_string(sort)), key, id});
}

std::string encode_admin_cursor(const std::string& id) { return platform::encode_cursor({id}); }

std::string encode_low_stock_cursor(std::int64_t available, const std::string& id) {
  return platform::encode_cursor({std::to_string(available), id});
}

}  // namespace bazaar::catalog::domain
