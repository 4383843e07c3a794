// The order state machine and numbers, without a database.
#include "domain/lifecycle.hpp"

#include <doctest/doctest.h>

#include <array>
#include <string>

using namespace bazaar::orders::domain;

TEST_CASE("order lifecycle: exactly the transitions of API.md are allowed") {
  const std::array<std::string, 6> states{"pending_payment", "paid", "shipped", "delivered", "cancelled", "refunded"};
  const std::array<std::pair<std::string, std::string>, 8> allowed{{{"pending_payment", "paid"},
                                                                    {"pending_payment", "cancelled"},
                                                                    {"paid", "shipped"},
                                                                    {"paid", "cancelled"},
                                                                    {"paid", "refunded"},
                                                                    {"shipped", "delivered"},
                                                                    {"shipped", "refunded"},
                                                                    {"delivered", "refunded"}}};
  int count = 0;
  for (const auto& from : states) {
    for (const auto& to : states) {
      const bool expected = std::find(allowed.begin(), allowed.end(), std::pair{from, to}) != allowed.end();
      CHECK_MESSAGE(can_transition(from, to) == expected, from << " -> " << to);
      count += can_transition(from, to) ? 1 : 0;
    }
  }
  CHECK(count == 8);
}

TEST_CASE("order numbers: formatted BZR-000123 and parsed back from several spellings") {
  CHECK(format_number(123) == "BZR-000123");
  CHECK(format_number(1234567) == "BZR-1234567");
  CHECK(parse_number("BZR-000123") == 123);
  CHECK(parse_number("bzr-42") == 42);
  CHECK(parse_number("1000") == 1000);
  CHECK(parse_number("BZR-") == -1);
  CHECK(parse_number("alice@example.com") == -1);
  CHECK(parse_number("-5") == -1);
}
