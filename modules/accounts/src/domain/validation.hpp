#pragma once
// Pure rules for account input: no I/O, unit-tested on their own.
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::accounts::domain {

// Trimmed and lower-cased (API.md: emails are normalised before they are compared or stored).
std::string normalize_email(std::string_view email);
// A pragmatic syntax check: one '@', a non-empty local part, a dotted domain, no spaces, ≤ 254 bytes.
bool is_valid_email(std::string_view normalized);
// nullopt when acceptable, else the reason (8..128 code points, not on the common-password list).
std::optional<std::string> password_problem(std::string_view password);
bool is_country_code(std::string_view code);  // ISO 3166-1 alpha-2, upper case
bool is_valid_phone(std::string_view phone);  // digits, spaces, + ( ) - . ; 5..32 characters

}  // namespace bazaar::accounts::domain
