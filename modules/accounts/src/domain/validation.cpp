#include "domain/validation.hpp"

#include <platform/json.hpp>
#include <platform/security.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace bazaar::accounts::domain {

std::string normalize_email(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
  std::string out(email);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

bool is_valid_email(std::string_view e) {
  if (e.size() < 3 || e.size() > 254) return false;
  const auto at = e.find('@');
  if (at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos) return false;
  const auto local = e.substr(0, at);
  const auto domain = e.substr(at + 1);
  if (local.size() > 64 || domain.size() < 3) return false;
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f || c == '<' || c == '>'; });
}

std::optional<std::string> password_problem(std::string_view password) {
  const auto length = platform::utf8_length(password);
  if (length < 8) return "must be at least 8 characters";
  if (length > 128) return "must be at most 128 characters";
  if (platform::security::is_common_password(password)) return "is too common; choose a less predictable password";
  return std::nullopt;
}

bool is_country_code(std::string_view code) {
  // ISO 3166-1 alpha-2 officially assigned codes, sorted for binary search.
  static constexpr std::array<std::string_view, 249> kCodes = {
      "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
      "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
      "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
      "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
      "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
      "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
      "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
      "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
      "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
      "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
      "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
      "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
      "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
      "ZM", "ZW"};
  return std::binary_search(kCodes.begin(), kCodes.end(), code);
}

bool is_valid_phone(std::string_view phone) {
  if (phone.size() < 5 || phone.size() > 32) return false;
  const bool allowed = std::all_of(phone.begin(), phone.end(), [](unsigned char c) {
    return std::isdigit(c) || c == ' ' || c == '+' || c == '(' || c == ')' || c == '-' || c == '.';
  });
  return allowed && std::count_if(phone.begin(), phone.end(), [](unsigned char c) { return std::isdigit(c); }) >= 4;
}

}  // namespace bazaar::accounts::domain
