#pragma once
// The message template language: small, safe and predictable (no code execution, no file access).
//
//   {{order.number}}                  a value looked up in the JSON context (strings, numbers, booleans)
//   {{money order.total}}             a Money object {"amount": 1234, "currency": "EUR"} as "12.34 EUR"
//   {{#each order.lines}} … {{/each}} a loop; inside, {{title}} or {{this.title}}, {{@index}}, {{@number}};
//                                     an optional {{else}} renders when the list is empty
//   {{#if order.tracking}} … {{else}} … {{/if}}   false, null, 0, "", [] and {} are false
//   {{! a comment }}
//
// Every substitution is HTML-escaped when rendering an HTML body (Escape::html) and left as is in text
// bodies and subjects. A block tag alone on its line takes its line with it, so text templates stay tidy.
// Unknown variables and malformed templates are errors carrying a line and column, never a crash and
// never a silently empty value: a typo in an edited template is caught when it is saved.
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::notifications::tmpl {

enum class Escape { none, html };

struct TemplateError {
  std::size_t line = 1;
  std::size_t column = 1;
  std::string message;
  std::string describe() const;  // "line 3, column 7: unknown variable 'order.numbr'"
};

struct Rendered {
  std::string text;
  std::optional<TemplateError> error;
  bool ok() const { return !error; }
};

inline constexpr std::size_t kMaxTemplateBytes = 64 * 1024;
inline constexpr std::size_t kMaxOutputBytes = 512 * 1024;

// Parses only: the first syntax error, if any.
std::optional<TemplateError> check_syntax(std::string_view source);

// Parses and renders `source` against `context` (normally a JSON object).
Rendered render(std::string_view source, const boost::json::value& context, Escape escape);

std::string html_escape(std::string_view text);
// Minor units as a decimal amount with the currency code ("12.34 EUR", "1200 JPY", "-0.05 EUR").
std::string format_money(std::int64_t minor_units, std::string_view currency);

}  // namespace bazaar::notifications::tmpl
