#include <platform/pagination.hpp>
#include <platform/security.hpp>

#include <charconv>

namespace bazaar::platform {

namespace {
constexpr char kSeparator = '\x1f';  // unit separator: never inside a sort key we encode
}

std::string encode_cursor(const std::vector<std::string>& parts) {
  std::string joined;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) joined.push_back(kSeparator);
    joined += parts[i];
  }
  return security::base64url_encode(joined);
}

std::optional<std::vector<std::string>> decode_cursor(std::string_view cursor) {
  auto raw = security::base64url_decode(cursor);
  if (!raw || raw->empty()) return std::nullopt;
  std::vector<std::string> parts;
  std::size_t pos = 0;
  for (;;) {
    const auto sep = raw->find(kSeparator, pos);
    parts.push_back(raw->substr(pos, sep == std::string::npos ? std::string::npos : sep - pos));
    if (sep == std::string::npos) break;
    pos = sep + 1;
  }
  return parts;
}

Result<PageRequest> parse_page(const http::Request& rq, std::size_t cursor_parts) {
  PageRequest page;
  std::vector<FieldError> errors;
  if (auto limit = rq.query_param("limit")) {
    int n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n < 1 || n > 100) {
      errors.push_back({"limit", "must be an integer between 1 and 100"});
    } else {
      page.limit = n;
    }
  }
  if (auto cursor = rq.query_param("cursor"); cursor && !cursor->empty()) {
    auto parts = decode_cursor(*cursor);
    if (!parts || parts->size() != cursor_parts) {
      errors.push_back({"cursor", "is not a cursor returned by this list"});
    } else {
      page.after = std::move(*parts);
    }
  }
  if (!errors.empty()) return Error::validation(std::move(errors));
  return page;
}

boost::json::object page_json(boost::json::array items, const std::optional<std::string>& next_cursor) {
  boost::json::object out;
  out["items"] = std::move(items);
  out["next_cursor"] = next_cursor ? boost::json::value(*next_cursor) : boost::json::value(nullptr);
  return out;
}

}  // namespace bazaar::platform
