// The accounts module's pure input rules: email normalisation and syntax, the password policy (length in
// code points, common passwords), ISO 3166-1 alpha-2 country codes and phone numbers. No I/O.
#include "domain/validation.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace bazaar::accounts::domain;

namespace {
std::string repeat(std::string_view piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}
}  // namespace

TEST_SUITE("accounts") {
  TEST_CASE("accounts: emails are trimmed and lower-cased before anything else") {
    CHECK(normalize_email("  Alice.Smith@Example.COM \t\n") == "alice.smith@example.com");
    CHECK(normalize_email("bob@example.com") == "bob@example.com");
    CHECK(normalize_email("   ") == "");
    CHECK(normalize_email("") == "");
    // Non-ASCII bytes are left alone (no locale-dependent lower-casing of UTF-8).
    CHECK(normalize_email("ÄRGER@Example.com") == "Ärger@example.com");
  }

  TEST_CASE("accounts: plausible email addresses pass the syntax check") {
    CHECK(is_valid_email("a@b.co"));
    CHECK(is_valid_email("first.last+tag@sub.example.org"));
    CHECK(is_valid_email(repeat("a", 64) + "@example.com"));
  }

  TEST_CASE("accounts: malformed email addresses are rejected") {
    CHECK_FALSE(is_valid_email(""));
    CHECK_FALSE(is_valid_email("plainaddress"));
    CHECK_FALSE(is_valid_email("@example.com"));
    CHECK_FALSE(is_valid_email("a@"));
    CHECK_FALSE(is_valid_email("a@b@example.com"));
    CHECK_FALSE(is_valid_email("a@localhost"));
    CHECK_FALSE(is_valid_email("a@.example.com"));
    CHECK_FALSE(is_valid_email("a@example.com."));
    CHECK_FALSE(is_valid_email("a@example..com"));
    CHECK_FALSE(is_valid_email("a b@example.com"));
    CHECK_FALSE(is_valid_email("a@exa mple.com"));
    CHECK_FALSE(is_valid_email("<a>@example.com"));
    CHECK_FALSE(is_valid_email(std::string("a\x7f@example.com")));
    CHECK_FALSE(is_valid_email(repeat("a", 65) + "@example.com"));                   // local part > 64
    CHECK_FALSE(is_valid_email("a@" + repeat("b", 250) + ".com"));                   // > 254 bytes
  }

  TEST_CASE("accounts: passwords need 8..128 code points, not bytes") {
    CHECK_FALSE(password_problem("Zq8#vLm2").has_value());                           // exactly 8
    CHECK(password_problem("Zq8#vLm").has_value());                                  // 7
    CHECK(password_problem("").has_value());
    CHECK_FALSE(password_problem(repeat("x7Q", 42) + "ab").has_value());            // 128
    CHECK(password_problem(repeat("x7Q", 43)).has_value());                          // 129
    // 8 two-byte characters (16 bytes) are 8 characters: valid; 7 of them (14 bytes) are too short.
    CHECK_FALSE(password_problem(repeat("é", 8)).has_value());
    CHECK(password_problem(repeat("é", 7)).has_value());
    // 4-byte characters: 7 emoji are 28 bytes but only 7 code points.
    CHECK(password_problem(repeat("\xF0\x9F\x94\x91", 7)).has_value());
    CHECK_FALSE(password_problem(repeat("\xF0\x9F\x94\x91", 8)).has_value());
    // 128 three-byte characters (384 bytes) are still within the limit; 129 are not.
    CHECK_FALSE(password_problem(repeat("€", 128)).has_value());
    CHECK(password_problem(repeat("€", 129)).has_value());
  }

  TEST_CASE("accounts: the reasons name the rule that failed") {
    CHECK(password_problem("short").value().find("at least 8") != std::string::npos);
    CHECK(password_problem(repeat("y", 129)).value().find("at most 128") != std::string::npos);
    CHECK(password_problem("password").value().find("common") != std::string::npos);
  }

  TEST_CASE("accounts: the most common passwords are refused whatever their case") {
    CHECK(password_problem("password").has_value());
    CHECK(password_problem("PASSWORD").has_value());
    CHECK(password_problem("12345678").has_value());
    CHECK(password_problem("qwertyuiop").has_value());
    CHECK_FALSE(password_problem("correct horse battery staple").has_value());
  }

  TEST_CASE("accounts: country codes are ISO 3166-1 alpha-2 in upper case") {
    CHECK(is_country_code("DE"));
    CHECK(is_country_code("US"));
    CHECK(is_country_code("AD"));  // first
    CHECK(is_country_code("ZW"));  // last
    CHECK_FALSE(is_country_code("de"));
    CHECK_FALSE(is_country_code("De"));
    CHECK_FALSE(is_country_code("XX"));
    CHECK_FALSE(is_country_code("UK"));  // not an ISO code (GB is)
    CHECK_FALSE(is_country_code("DEU"));
    CHECK_FALSE(is_country_code("D"));
    CHECK_FALSE(is_country_code(""));
  }

  TEST_CASE("accounts: phone numbers allow digits and the usual separators") {
    CHECK(is_valid_phone("+49 30 1234567"));
    CHECK(is_valid_phone("(030) 123-45.67"));
    CHECK(is_valid_phone("12345"));
    CHECK_FALSE(is_valid_phone("1234"));                    // too short
    CHECK_FALSE(is_valid_phone(repeat("1", 33)));           // too long
    CHECK_FALSE(is_valid_phone("+49 30 CALL-ME"));          // letters
    CHECK_FALSE(is_valid_phone("+-() ."));                  // no digits
    CHECK_FALSE(is_valid_phone("+1 (2) 3"));                // fewer than 4 digits
  }
}
