// JSON in: strict object parsing with limits, the field reader that collects every validation error, and
// the UTF-8 helpers behind length limits in code points.
#include <platform/http.hpp>
#include <platform/json.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

namespace json = boost::json;
using bazaar::platform::Errc;
using bazaar::platform::FieldError;
using bazaar::platform::FieldReader;
using bazaar::platform::http_status;
using bazaar::platform::JsonLimits;
using bazaar::platform::parse_json_object;
using bazaar::platform::utf8_length;
using bazaar::platform::valid_utf8;

std::string nested(std::size_t depth) {  // {"a":{"a":...{}...}} with `depth` objects
  std::string s;
  for (std::size_t i = 1; i < depth; ++i) s += R"({"a":)";
  s += "{}";
  for (std::size_t i = 1; i < depth; ++i) s += "}";
  return s;
}

bool has_error(const std::vector<FieldError>& errors, const std::string& field, const std::string& message_part) {
  for (const auto& e : errors) {
    if (e.field == field && e.message.find(message_part) != std::string::npos) return true;
  }
  return false;
}

std::string bytes(std::initializer_list<unsigned> values) {
  std::string s;
  for (unsigned v : values) s.push_back(static_cast<char>(v));
  return s;
}

}  // namespace

TEST_SUITE("json") {
  TEST_CASE("json: a JSON object parses") {
    auto r = parse_json_object(R"({"name": "x", "n": 1, "list": [1, 2], "inner": {"ok": true}})");
    REQUIRE(r.has_value());
    CHECK(r->at("name") == "x");
    CHECK(r->at("inner").at("ok") == true);
    CHECK(parse_json_object("  {}  ").has_value());
  }

  TEST_CASE("json: malformed JSON is a 400 bad_request") {
    for (const char* bad : {"", "{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} trailing", "{} {}",
                            "{\"a\": tru}", "{/*comment*/}", "{\"a\":01}", "{\"a\":NaN}"}) {
      CAPTURE(bad);
      auto r = parse_json_object(bad);
      REQUIRE(r.has_error());
      CHECK(r.error().code == Errc::bad_request);
      CHECK(http_status(r.error().code) == 400);
      CHECK(r.error().code_slug() == "bad_request");
    }
  }

  TEST_CASE("json: invalid UTF-8 inside a string is malformed JSON") {
    auto r = parse_json_object("{\"a\":\"" + bytes({0xC3, 0x28}) + "\"}");
    REQUIRE(r.has_error());
    CHECK(r.error().code == Errc::bad_request);
  }

  TEST_CASE("json: a valid JSON value that is not an object is a 400") {
    for (const char* bad : {"[]", "[{\"a\":1}]", "\"text\"", "42", "true", "null"}) {
      CAPTURE(bad);
      auto r = parse_json_object(bad);
      REQUIRE(r.has_error());
      CHECK(r.error().code == Errc::bad_request);
      CHECK(r.error().detail.find("object") != std::string::npos);
    }
  }

  TEST_CASE("json: nesting deeper than the limit is a 400, exactly the limit is fine") {
    JsonLimits limits;
    limits.max_depth = 5;
    CHECK(parse_json_object(nested(5), limits).has_value());
    auto deep = parse_json_object(nested(6), limits);
    REQUIRE(deep.has_error());
    CHECK(deep.error().code == Errc::bad_request);
    // Arrays count as levels too.
    CHECK(parse_json_object(R"({"a":[[[{}]]]})", limits).has_value());
    CHECK(parse_json_object(R"({"a":[[[[{}]]]]})", limits).has_error());
    // The default limit (32) stops a hostile body long before the parser's stack would suffer.
    CHECK(parse_json_object(nested(32)).has_value());
    CHECK(parse_json_object(nested(33)).has_error());
    CHECK(parse_json_object(std::string(100000, '[')).has_error());
  }

  TEST_CASE("json: a body above the size limit is a 413 payload_too_large") {
    JsonLimits limits;
    limits.max_bytes = 16;
    const std::string exact = R"({"a":"12345678"})";  // 16 bytes
    REQUIRE(exact.size() == 16);
    CHECK(parse_json_object(exact, limits).has_value());
    auto big = parse_json_object(R"({"a":"123456789"})", limits);
    REQUIRE(big.has_error());
    CHECK(big.error().code == Errc::payload_too_large);
    CHECK(http_status(big.error().code) == 413);
    CHECK(big.error().code_slug() == "payload_too_large");
    // Even malformed: size is checked first.
    CHECK(parse_json_object(std::string(17, '{'), limits).error().code == Errc::payload_too_large);
  }

  TEST_CASE("json: the field reader collects every field's problem into one 422") {
    auto obj = json::parse(R"({"name": 5, "email": "", "age": "x", "count": 1000, "flag": "yes",
                               "tags": {}, "address": [], "nick": null, "ok": "fine"})").as_object();
    FieldReader f(obj);
    CHECK_FALSE(f.string("name", true).has_value());
    CHECK_FALSE(f.string("email", true, 1, 254).has_value());
    CHECK_FALSE(f.integer("age", true).has_value());
    CHECK_FALSE(f.integer("count", true, 0, 100).has_value());
    CHECK_FALSE(f.boolean("flag", true).has_value());
    CHECK(f.array("tags", true) == nullptr);
    CHECK(f.object("address", true) == nullptr);
    CHECK_FALSE(f.string("nick", true).has_value());     // null counts as missing
    CHECK_FALSE(f.string("missing", true).has_value());
    CHECK_FALSE(f.string("optional", false).has_value());  // absent and optional: no error
    CHECK(f.string("ok", true) == "fine");
    CHECK_FALSE(f.ok());

    const auto& errors = f.errors();
    CHECK(errors.size() == 9);
    CHECK(has_error(errors, "name", "must be a string, not a number"));
    CHECK(has_error(errors, "email", "must not be empty"));
    CHECK(has_error(errors, "age", "must be an integer"));
    CHECK(has_error(errors, "count", "between 0 and 100"));
    CHECK(has_error(errors, "flag", "true or false"));
    CHECK(has_error(errors, "tags", "must be an array"));
    CHECK(has_error(errors, "address", "must be an object"));
    CHECK(has_error(errors, "nick", "is required"));
    CHECK(has_error(errors, "missing", "is required"));
    CHECK(errors.front().field == "name");  // in the order they were read

    auto e = f.error();
    CHECK(e.code == Errc::validation_failed);
    CHECK(http_status(e.code) == 422);
    CHECK(e.code_slug() == "validation_failed");
    CHECK(e.fields.size() == 9);
  }

  TEST_CASE("json: the field reader names the kind of a wrong value") {
    auto obj = json::parse(R"({"a": true, "b": [], "c": {}, "d": 1.5, "e": 7})").as_object();
    FieldReader f(obj);
    f.string("a", true);
    f.string("b", true);
    f.string("c", true);
    f.string("d", true);
    f.string("e", true);
    REQUIRE(f.errors().size() == 5);
    CHECK(has_error(f.errors(), "a", "a boolean"));
    CHECK(has_error(f.errors(), "b", "an array"));
    CHECK(has_error(f.errors(), "c", "an object"));
    CHECK(has_error(f.errors(), "d", "a number"));
    CHECK(has_error(f.errors(), "e", "a number"));
  }

  TEST_CASE("json: string lengths are counted in code points, not bytes") {
    auto obj = json::parse(R"({"three": "héé", "five": "ééééé", "six": "日本語日本語", "two": "😀😀", "ascii": "abcd"})")
                   .as_object();
    FieldReader f(obj);
    CHECK(f.string("three", true, 3, 3) == "héé");  // 5 bytes
    CHECK(f.string("five", true, 1, 5) == "ééééé");  // 10 bytes
    CHECK(f.string("two", true, 2, 2) == "😀😀");    // 8 bytes
    CHECK(f.ok());
    CHECK_FALSE(f.string("six", true, 1, 5).has_value());  // 6 code points, 18 bytes
    CHECK_FALSE(f.string("two", true, 3, 10).has_value());
    CHECK_FALSE(f.string("ascii", true, 0, 3).has_value());
    REQUIRE(f.errors().size() == 3);
    CHECK(has_error(f.errors(), "six", "at most 5 characters"));
    CHECK(has_error(f.errors(), "two", "at least 3 characters"));
    CHECK(has_error(f.errors(), "ascii", "at most 3 characters"));
  }

  TEST_CASE("json: integers must be integers within the range") {
    auto obj = json::parse(R"({"float": 1.0, "big": 9223372036854775808, "max": 9223372036854775807,
                               "min": -9223372036854775808, "neg": -5, "str": "5", "zero": 0, "exp": 1e2})")
                   .as_object();
    FieldReader f(obj);
    CHECK(f.integer("max", true) == INT64_MAX);
    CHECK(f.integer("min", true) == INT64_MIN);
    CHECK(f.integer("zero", true, 0, 0) == 0);
    CHECK(f.ok());
    CHECK_FALSE(f.integer("float", true).has_value());
    CHECK_FALSE(f.integer("big", true).has_value());
    CHECK_FALSE(f.integer("neg", true, 0, 10).has_value());
    CHECK_FALSE(f.integer("str", true).has_value());
    CHECK_FALSE(f.integer("exp", true).has_value());  // no floating point anywhere, not even 1e2
    REQUIRE(f.errors().size() == 5);
    CHECK(has_error(f.errors(), "float", "must be an integer"));
    CHECK(has_error(f.errors(), "big", "must be an integer"));
    CHECK(has_error(f.errors(), "neg", "between 0 and 10"));
    CHECK(has_error(f.errors(), "str", "must be an integer"));
  }

  TEST_CASE("json: nested readers prefix their field names, and fail() adds custom errors") {
    auto obj = json::parse(R"({"address": {"city": "", "zip": 5}, "items": [1]})").as_object();
    FieldReader f(obj);
    const json::object* address = f.object("address", true);
    REQUIRE(address != nullptr);
    FieldReader a(*address, "address");
    a.string("city", true, 1, 100);
    a.string("zip", true);
    a.string("country", true);
    REQUIRE(a.errors().size() == 3);
    CHECK(a.errors()[0].field == "address.city");
    CHECK(a.errors()[1].field == "address.zip");
    CHECK(a.errors()[2].field == "address.country");
    const json::array* items = f.array("items", true);
    REQUIRE(items != nullptr);
    CHECK(items->size() == 1);
    f.fail("items[0]", "must be an object");
    REQUIRE(f.errors().size() == 1);
    CHECK(f.errors()[0].field == "items[0]");
  }

  TEST_CASE("json: is_null and has tell an explicit null from an absent key") {
    auto obj = json::parse(R"({"cleared": null, "set": 1})").as_object();
    FieldReader f(obj);
    CHECK(f.is_null("cleared"));
    CHECK(f.has("cleared"));
    CHECK_FALSE(f.is_null("set"));
    CHECK_FALSE(f.is_null("absent"));
    CHECK_FALSE(f.has("absent"));
    CHECK_FALSE(f.string("cleared", false).has_value());
    CHECK(f.ok());  // an optional null is no error
  }

  TEST_CASE("json: valid_utf8 accepts well-formed text and rejects every malformation") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii"));
    CHECK(valid_utf8("é"));
    CHECK(valid_utf8("日本語"));
    CHECK(valid_utf8(bytes({0xF0, 0x9F, 0x98, 0x80})));          // U+1F600
    CHECK(valid_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})));          // U+10FFFF, the last code point
    CHECK(valid_utf8(bytes({0xEF, 0xBF, 0xBF})));                // U+FFFF
    CHECK(valid_utf8(bytes({0xED, 0x9F, 0xBF})));                // U+D7FF, just below the surrogates
    CHECK(valid_utf8(std::string("a\0b", 3)));                   // NUL is a code point
    CHECK_FALSE(valid_utf8(bytes({0x80})));                      // lone continuation byte
    CHECK_FALSE(valid_utf8(bytes({0xC3})));                      // truncated at the end
    CHECK_FALSE(valid_utf8(bytes({0xE2, 0x82})));                // truncated three-byte sequence
    CHECK_FALSE(valid_utf8(bytes({0xC3, 0x28})));                // bad continuation
    CHECK_FALSE(valid_utf8(bytes({0xC0, 0xAF})));                // overlong '/'
    CHECK_FALSE(valid_utf8(bytes({0xC1, 0xBF})));                // overlong
    CHECK_FALSE(valid_utf8(bytes({0xE0, 0x80, 0xAF})));          // overlong
    CHECK_FALSE(valid_utf8(bytes({0xF0, 0x80, 0x80, 0xAF})));    // overlong
    CHECK_FALSE(valid_utf8(bytes({0xED, 0xA0, 0x80})));          // U+D800, a surrogate
    CHECK_FALSE(valid_utf8(bytes({0xED, 0xBF, 0xBF})));          // U+DFFF
    CHECK_FALSE(valid_utf8(bytes({0xF4, 0x90, 0x80, 0x80})));    // U+110000
    CHECK_FALSE(valid_utf8(bytes({0xF8, 0x88, 0x80, 0x80, 0x80})));  // five-byte form
    CHECK_FALSE(valid_utf8(bytes({0xFF})));
    CHECK_FALSE(valid_utf8("ok" + bytes({0xE2, 0x82})));         // truncated after valid text
  }

  TEST_CASE("json: utf8_length counts code points") {
    CHECK(utf8_length("") == 0);
    CHECK(utf8_length("abc") == 3);
    CHECK(utf8_length("héllo") == 5);
    CHECK(utf8_length("日本語") == 3);
    CHECK(utf8_length(bytes({0xF0, 0x9F, 0x98, 0x80})) == 1);
    CHECK(utf8_length("a" + bytes({0xF0, 0x9F, 0x98, 0x80}) + "b") == 3);
  }
}
