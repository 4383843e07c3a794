#pragma once
// Keyset pagination per API.md: ?limit= (1..100, default 20) and an opaque ?cursor= from the previous
// page. The cursor is the last row's sort key, base64url-encoded so that clients treat it as opaque.
#include <platform/error.hpp>
#include <platform/http.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::platform {

struct PageRequest {
  int limit = 20;
  std::vector<std::string> after;  // decoded cursor parts; empty for the first page
};

// 422 with a field error for a bad limit or a cursor that does not decode to `cursor_parts` parts.
Result<PageRequest> parse_page(const http::Request& rq, std::size_t cursor_parts = 1);
std::string encode_cursor(const std::vector<std::string>& parts);
std::optional<std::vector<std::string>> decode_cursor(std::string_view cursor);

// {"items": items, "next_cursor": cursor|null}
boost::json::object page_json(boost::json::array items, const std::optional<std::string>& next_cursor);

// The tail of a keyset list by id: the rows were fetched with limit + 1, so an extra row means there is a
// next page (its cursor is the last kept row's id); the kept rows are mapped with `to_json`.
template <class Row, class ToJson>
boost::json::object keyset_page_json(std::vector<Row>& rows, int limit, ToJson to_json) {
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<std::size_t>(limit));
    next = encode_cursor({rows.back().id});
  }
  boost::json::array items;
  for (const auto& row : rows) items.push_back(to_json(row));
  return page_json(std::move(items), next);
}

}  // namespace bazaar::platform
