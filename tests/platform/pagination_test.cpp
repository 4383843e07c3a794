// Keyset pagination: ?limit= bounds, opaque cursors that round-trip, and 422s that name the field.
#include <platform/pagination.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using bazaar::platform::decode_cursor;
using bazaar::platform::encode_cursor;
using bazaar::platform::Errc;
using bazaar::platform::http_status;
using bazaar::platform::page_json;
using bazaar::platform::parse_page;
using bazaar::platform::http::Request;

Request with_query(std::string query) {
  Request rq;
  rq.path = "/api/v1/things";
  rq.target = rq.path + "?" + query;
  rq.query = std::move(query);
  return rq;
}

std::vector<std::string> error_fields(const bazaar::platform::Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.fields) out.push_back(f.field);
  return out;
}

}  // namespace

TEST_SUITE("pagination") {
  TEST_CASE("pagination: without parameters the first page has 20 items") {
    auto page = parse_page(with_query(""));
    REQUIRE(page.has_value());
    CHECK(page->limit == 20);
    CHECK(page->after.empty());
    auto empty_cursor = parse_page(with_query("cursor="));
    REQUIRE(empty_cursor.has_value());
    CHECK(empty_cursor->after.empty());
  }

  TEST_CASE("pagination: limit accepts 1 to 100") {
    for (int n : {1, 2, 50, 99, 100}) {
      CAPTURE(n);
      auto page = parse_page(with_query("limit=" + std::to_string(n)));
      REQUIRE(page.has_value());
      CHECK(page->limit == n);
    }
  }

  TEST_CASE("pagination: a limit out of bounds or not a number is a 422 naming the field limit") {
    for (const char* q : {"limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=5x", "limit=1.5",
                          "limit=99999999999999999999", "limit=%20%35", "limit=+5"}) {
      CAPTURE(q);
      auto page = parse_page(with_query(q));
      REQUIRE(page.has_error());
      CHECK(page.error().code == Errc::validation_failed);
      CHECK(http_status(page.error().code) == 422);
      CHECK(error_fields(page.error()) == std::vector<std::string>{"limit"});
    }
  }

  TEST_CASE("pagination: a cursor round-trips through encode and decode") {
    const std::vector<std::string> one{"0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091"};
    CHECK(decode_cursor(encode_cursor(one)) == one);
    const std::vector<std::string> two{"2026-11-21T10:00:00.123Z", "0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091"};
    CHECK(decode_cursor(encode_cursor(two)) == two);
    const std::vector<std::string> odd{"with spaces & symbols/+=?", "ünïcødé", "1999"};
    CHECK(decode_cursor(encode_cursor(odd)) == odd);
    // Opaque and URL-safe: base64url without padding.
    const auto text = encode_cursor(odd);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  }

  TEST_CASE("pagination: a cursor from a previous page is accepted with the expected number of parts") {
    const std::vector<std::string> key{"2026-11-21T10:00:00.123Z", "0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091"};
    auto page = parse_page(with_query("limit=5&cursor=" + encode_cursor(key)), 2);
    REQUIRE(page.has_value());
    CHECK(page->limit == 5);
    CHECK(page->after == key);
  }

  TEST_CASE("pagination: a garbage cursor is a 422 naming the field cursor") {
    for (const std::string q : {"cursor=!!!not-base64!!!", "cursor=%FF%FE", "cursor=a", "cursor====="}) {
      CAPTURE(q);
      auto page = parse_page(with_query(q));
      REQUIRE(page.has_error());
      CHECK(page.error().code == Errc::validation_failed);
      CHECK(error_fields(page.error()) == std::vector<std::string>{"cursor"});
    }
    CHECK_FALSE(decode_cursor("").has_value());
    CHECK_FALSE(decode_cursor("***").has_value());
  }

  TEST_CASE("pagination: a cursor with the wrong number of parts is refused") {
    auto two_parts = encode_cursor({"a", "b"});
    auto page = parse_page(with_query("cursor=" + two_parts), 1);
    REQUIRE(page.has_error());
    CHECK(error_fields(page.error()) == std::vector<std::string>{"cursor"});
    auto one_part = encode_cursor({"a"});
    CHECK(parse_page(with_query("cursor=" + one_part), 2).has_error());
  }

  TEST_CASE("pagination: a bad limit and a bad cursor are both reported") {
    auto page = parse_page(with_query("limit=0&cursor=%21%21%21"));
    REQUIRE(page.has_error());
    CHECK(error_fields(page.error()) == std::vector<std::string>{"limit", "cursor"});
  }

  TEST_CASE("pagination: page_json has items and a next_cursor that is null on the last page") {
    boost::json::array items{1, 2};
    auto more = page_json(items, std::string("abc"));
    CHECK(more.at("items").as_array().size() == 2);
    CHECK(more.at("next_cursor") == "abc");
    auto last = page_json({}, std::nullopt);
    CHECK(last.at("items").as_array().empty());
    CHECK(last.at("next_cursor").is_null());
  }
}
