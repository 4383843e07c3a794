#include <platform/json.hpp>

#include <fmt/format.h>

namespace bazaar::platform {

namespace {

std::size_t depth_of(const json::value& v, std::size_t limit, std::size_t depth = 1) {
  if (depth > limit) return depth;
  std::size_t deepest = depth;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) deepest = std::max(deepest, depth_of(kv.value(), limit, depth + 1));
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) deepest = std::max(deepest, depth_of(e, limit, depth + 1));
  }
  return deepest;
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

}  // namespace

Result<json::object> parse_json_object(std::string_view body, const JsonLimits& limits) {
  if (body.size() > limits.max_bytes) {
    return Error::make(Errc::payload_too_large, "payload_too_large", "The request body is too large.");
  }
  json::parse_options options;
  options.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) return Error::bad_request(fmt::format("The body is not valid JSON: {}.", ec.message()));
  if (!v.is_object()) return Error::bad_request("The body must be a JSON object.");
  if (depth_of(v, limits.max_depth) > limits.max_depth) return Error::bad_request("The JSON body is nested too deeply.");
  return std::move(v.as_object());
}

std::string FieldReader::path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void FieldReader::fail(std::string_view key, std::string message) {
  errors_.push_back(FieldError{path(key), std::move(message)});
}

const json::value* FieldReader::find(std::string_view key, bool required) {
  const json::value* v = obj_.if_contains(key);
  if (!v || v->is_null()) {
    if (required) fail(key, "is required");
    return nullptr;
  }
  return v;
}

bool FieldReader::is_null(std::string_view key) const {
  const json::value* v = obj_.if_contains(key);
  return v && v->is_null();
}

std::optional<std::string> FieldReader::string(std::string_view key, bool required, std::size_t min_len,
                                               std::size_t max_len) {
  const json::value* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail(key, fmt::format("must be a string, not {}", kind_name(*v)));
    return std::nullopt;
  }
  std::string_view s = v->get_string();
  if (!valid_utf8(s)) {
    fail(key, "must be valid UTF-8");
    return std::nullopt;
  }
  const std::size_t len = utf8_length(s);
  if (len < min_len) {
    fail(key, min_len == 1 ? "must not be empty" : fmt::format("must be at least {} characters", min_len));
    return std::nullopt;
  }
  if (len > max_len) {
    fail(key, fmt::format("must be at most {} characters", max_len));
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, bool required, std::int64_t min,
                                                 std::int64_t max) {
  const json::value* v = find(key, required);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    fail(key, "must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    fail(key, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> FieldReader::boolean(std::string_view key, bool required) {
  const json::value* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    fail(key, "must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

const json::object* FieldReader::object(std::string_view key, bool required) {
  const json::value* v = find(key, required);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail(key, "must be an object");
    return nullptr;
  }
  return &v->get_object();
}

const json::array* FieldReader::array(std::string_view key, bool required) {
  const json::value* v = find(key, required);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(key, "must be an array");
    return nullptr;
  }
  return &v->get_array();
}

void JsonObjectWriter::key(std::string_view k) {
  if (!first_) out_.push_back(',');
  first_ = false;
  out_.push_back('"');
  out_.append(k);
  out_.append("\":");
}

void JsonObjectWriter::quoted(std::string_view value) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out_.push_back('"');
  std::size_t plain_from = 0;  // runs of characters that need no escape are appended at once
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_.append(value.substr(plain_from, i - plain_from));
    plain_from = i + 1;
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\b': out_.append("\\b"); break;
      case '\f': out_.append("\\f"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      default:
        out_.append("\\u00");
        out_.push_back(kHex[c >> 4]);
        out_.push_back(kHex[c & 0xf]);
    }
  }
  out_.append(value.substr(plain_from));
  out_.push_back('"');
}

JsonObjectWriter& JsonObjectWriter::string(std::string_view k, std::string_view value) {
  key(k);
  quoted(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::nullable(std::string_view k, const std::optional<std::string>& value) {
  key(k);
  if (value) {
    quoted(*value);
  } else {
    out_.append("null");
  }
  return *this;
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view k, bool value) {
  key(k);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::integer(std::string_view k, std::int64_t value) {
  key(k);
  out_.append(std::to_string(value));
  return *this;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, surrogates and values past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace bazaar::platform
