// http::Headers: one buffer for every name and value, looked up case-insensitively, in the order added.
#include <platform/http.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using bazaar::platform::http::Headers;

namespace {

std::vector<std::string> lines(const Headers& h) {
  std::vector<std::string> out;
  h.for_each([&](std::string_view name, std::string_view value) { out.push_back(std::string(name) + ": " + std::string(value)); });
  return out;
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("headers: look-up ignores case, add keeps duplicates in order, set replaces the first") {
    Headers h;
    h.add("Content-Type", "application/json");
    h.add("Vary", "Origin");
    h.add("vary", "Accept");
    CHECK(h.get("content-type") == "application/json");
    CHECK(h.get("VARY") == "Origin");
    CHECK_FALSE(h.get("Accept").has_value());
    CHECK(lines(h) == std::vector<std::string>{"Content-Type: application/json", "Vary: Origin", "vary: Accept"});

    h.set("CONTENT-TYPE", "text/plain");  // shorter: in place
    h.set("Vary", "Origin, Accept-Encoding, Authorization");  // longer: moved to the end of the buffer
    h.set("X-New", "1");
    CHECK(lines(h) == std::vector<std::string>{"Content-Type: text/plain", "Vary: Origin, Accept-Encoding, Authorization",
                                               "vary: Accept", "X-New: 1"});
  }

  TEST_CASE("headers: remove drops every header of that name; values survive copies and many additions") {
    Headers h;
    for (int i = 0; i < 40; ++i) h.add("X-" + std::to_string(i), std::string(static_cast<std::size_t>(i) * 7, 'v'));
    h.add("x-3", "again");
    h.remove("X-3");
    CHECK(h.size() == 39);
    CHECK_FALSE(h.get("x-3").has_value());
    const Headers copy = h;
    h.set("X-39", "changed");
    CHECK(copy.get("X-39") == std::string(39 * 7, 'v'));
    CHECK(copy.get("X-0") == "");
    CHECK(h.get("X-39") == "changed");
    CHECK(h.get("X-38") == std::string(38 * 7, 'v'));
  }
}
