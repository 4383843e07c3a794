#pragma once
// JSON in and out: strict body parsing (415/400) and a field reader that collects per-field validation
// errors into one 422 instead of failing on the first.
#include <platform/error.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::platform {

namespace json = boost::json;

struct JsonLimits {
  std::size_t max_bytes = 1 << 20;
  std::size_t max_depth = 32;
};

// Parses a request body that must be a JSON object. Errors: 400 bad_request (malformed, too deep, not an
// object). The Content-Type check lives in http::parse_json_body.
Result<json::object> parse_json_object(std::string_view body, const JsonLimits& limits = {});

// Reads fields of a JSON object, remembering every problem. Use: read all fields, then `if (!r.ok())
// return r.error();`. Unknown fields are ignored (forward compatibility), wrong types are errors.
class FieldReader {
 public:
  explicit FieldReader(const json::object& obj, std::string prefix = {}) : obj_(obj), prefix_(std::move(prefix)) {}

  std::optional<std::string> string(std::string_view key, bool required, std::size_t min_len = 0,
                                    std::size_t max_len = 1000);
  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min = INT64_MIN,
                                      std::int64_t max = INT64_MAX);
  std::optional<bool> boolean(std::string_view key, bool required);
  const json::object* object(std::string_view key, bool required);
  const json::array* array(std::string_view key, bool required);
  // true when the key is present with an explicit null (PATCH semantics: clear the field)
  bool is_null(std::string_view key) const;
  bool has(std::string_view key) const { return obj_.contains(key); }

  void fail(std::string_view key, std::string message);
  bool ok() const { return errors_.empty(); }
  Error error() const { return Error::validation(errors_); }
  const std::vector<FieldError>& errors() const { return errors_; }

 private:
  std::string path(std::string_view key) const;
  const json::value* find(std::string_view key, bool required);

  const json::object& obj_;
  std::string prefix_;
  std::vector<FieldError> errors_;
};

// Writes one flat JSON object straight into a string, for the hottest replies, where building a
// json::object and serializing it costs more than the rest of the answer (GET /api/v1/me). Keys are the
// caller's literals, written as given; string values are escaped as boost::json::serialize escapes them.
// Separate names per type on purpose: an overload set would take a string literal as a bool.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  JsonObjectWriter& string(std::string_view key, std::string_view value);
  JsonObjectWriter& nullable(std::string_view key, const std::optional<std::string>& value);  // null when empty
  JsonObjectWriter& boolean(std::string_view key, bool value);
  JsonObjectWriter& integer(std::string_view key, std::int64_t value);
  void finish() { out_.push_back('}'); }

 private:
  void key(std::string_view k);
  void quoted(std::string_view value);

  std::string& out_;
  bool first_ = true;
};

// Length of a UTF-8 string in code points (passwords are limited in code points, not bytes).
std::size_t utf8_length(std::string_view s);
bool valid_utf8(std::string_view s);

}  // namespace bazaar::platform
