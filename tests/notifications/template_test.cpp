// The message template language (pure): lookups, loops, conditions, money, HTML escaping only where it
// belongs, tidy text output, and errors with positions instead of crashes or silently empty values.
#include "domain/template.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace bazaar::notifications;
namespace json = boost::json;

namespace {

json::value context() {
  return json::parse(R"({
    "store": {"name": "bazaar", "url": "https://shop.example"},
    "order": {"number": "BZR-001042", "total": {"amount": 123456, "currency": "EUR"}, "item_count": 3,
              "gift": false, "note": null,
              "lines": [{"title": "Mug", "quantity": 2, "line_total": {"amount": 2500, "currency": "EUR"}},
                        {"title": "Tea <b>strong</b> & \"fine\"", "quantity": 1, "line_total": {"amount": 899, "currency": "EUR"}}]},
    "tags": ["a", "b"],
    "empty": [],
    "title": "outer title"
  })");
}

std::string ok(std::string_view source, tmpl::Escape escape = tmpl::Escape::none) {
  auto r = tmpl::render(source, context(), escape);
  REQUIRE_MESSAGE(r.ok(), r.error->describe());
  return r.text;
}

tmpl::TemplateError failure(std::string_view source) {
  auto r = tmpl::render(source, context(), tmpl::Escape::none);
  REQUIRE_MESSAGE(!r.ok(), "rendered: " << r.text);
  CHECK(r.text.empty());
  return *r.error;
}

}  // namespace

TEST_SUITE("notifications.template") {
  TEST_CASE("template: variables are looked up by dotted path; numbers and booleans print plainly") {
    CHECK(ok("Order {{order.number}} from {{ store.name }}") == "Order BZR-001042 from bazaar");
    CHECK(ok("{{order.item_count}} items, gift: {{order.gift}}, note: [{{order.note}}]") ==
          "3 items, gift: false, note: []");
    CHECK(ok("first line title: {{order.lines.0.title}}") == "first line title: Mug");
    CHECK(ok("no tags at all") == "no tags at all");
    CHECK(ok("") == "");
  }

  TEST_CASE("template: money formats minor units with the currency's decimals") {
    CHECK(ok("{{money order.total}}") == "1234.56 EUR");
    CHECK(tmpl::format_money(5, "EUR") == "0.05 EUR");
    CHECK(tmpl::format_money(-1999, "USD") == "-19.99 USD");
    CHECK(tmpl::format_money(1200, "JPY") == "1200 JPY");
    CHECK(tmpl::format_money(1500, "KWD") == "1.500 KWD");
    CHECK(tmpl::format_money(INT64_MIN, "EUR") == "-92233720368547758.08 EUR");
    auto e = failure("{{money order.number}}");
    CHECK(e.message.find("not an amount of money") != std::string::npos);
    CHECK(failure("{{order.total}}").message.find("{{money order.total}}") != std::string::npos);
  }

  TEST_CASE("template: #each loops with this, plain names, @index/@number and an else for empty lists") {
    CHECK(ok("{{#each order.lines}}[{{@number}}. {{quantity}} x {{this.title}}]{{/each}}") ==
          "[1. 2 x Mug][2. 1 x Tea <b>strong</b> & \"fine\"]");
    CHECK(ok("{{#each tags}}{{this}}{{@index}};{{/each}}") == "a0;b1;");
    CHECK(ok("{{#each empty}}x{{else}}none{{/each}}") == "none");
    CHECK(ok("{{#each order.note}}x{{else}}none{{/each}}") == "none");  // null is an empty list
    // Names not in the item fall back to the enclosing scopes.
    CHECK(ok("{{#each tags}}{{this}}@{{order.number}} {{/each}}") == "a@BZR-001042 b@BZR-001042 ");
    CHECK(ok("{{#each order.lines}}{{title}} {{/each}}|{{title}}") == "Mug Tea <b>strong</b> & \"fine\" |outer title");
  }

  TEST_CASE("template: #if treats false, null, 0, empty strings and empty lists as false") {
    CHECK(ok("{{#if order.gift}}gift{{else}}no gift{{/if}}") == "no gift");
    CHECK(ok("{{#if order.note}}note{{/if}}") == "");
    CHECK(ok("{{#if order.item_count}}items{{/if}}") == "items");
    CHECK(ok("{{#if empty}}x{{else}}empty{{/if}}") == "empty");
    CHECK(ok("{{#if tags}}{{#each tags}}{{this}}{{/each}}{{/if}}") == "ab");
    CHECK(ok("{{! a comment }}kept") == "kept");
  }

  TEST_CASE("template: substitutions are HTML-escaped in HTML bodies only; the template's own markup is not") {
    const std::string source = "<p>{{#each order.lines}}<b>{{title}}</b>{{/each}}</p>";
    CHECK(ok(source, tmpl::Escape::html) ==
          "<p><b>Mug</b><b>Tea &lt;b&gt;strong&lt;/b&gt; &amp; &quot;fine&quot;</b></p>");
    CHECK(ok(source, tmpl::Escape::none) == "<p><b>Mug</b><b>Tea <b>strong</b> & \"fine\"</b></p>");
    CHECK(tmpl::html_escape("<script>alert('x')</script>") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  }

  TEST_CASE("template: a block tag alone on its line takes the whole line with it") {
    const std::string source =
        "Items:\n"
        "{{#each order.lines}}\n"
        "  - {{title}}\n"
        "{{/each}}\n"
        "  {{#if order.gift}}\n"
        "Gift!\n"
        "  {{else}}\n"
        "Total: {{money order.total}}\n"
        "  {{/if}}\n"
        "Bye";
    CHECK(ok(source) == "Items:\n  - Mug\n  - Tea <b>strong</b> & \"fine\"\nTotal: 1234.56 EUR\nBye");
    // Inline blocks keep their surroundings.
    CHECK(ok("a {{#if order.gift}}x{{/if}} b\n") == "a  b\n");
    CHECK(ok("{{#if tags}}\r\nyes\r\n{{/if}}\r\n") == "yes\r\n");
  }

  TEST_CASE("template: unknown variables are errors with a line and column") {
    auto e = failure("Hello\n  {{order.numbr}}");
    CHECK(e.line == 2);
    CHECK(e.column == 3);
    CHECK(e.message == "unknown variable 'order.numbr'");
    CHECK(e.describe() == "line 2, column 3: unknown variable 'order.numbr'");
    CHECK(failure("{{nope}}").message == "unknown variable 'nope'");
    CHECK(failure("{{order.note.text}}").message.find("has no value") != std::string::npos);
    CHECK(failure("é{{x}}").column == 2);  // columns count characters, not bytes
    CHECK(failure("{{@index}}").message.find("#each") != std::string::npos);
  }

  TEST_CASE("template: malformed templates are errors, never crashes") {
    CHECK(failure("{{order.number").message.find("never closed") != std::string::npos);
    CHECK(failure("{{#each order.lines}}x").message.find("never closed") != std::string::npos);
    CHECK(failure("{{#each order.lines}}x").column == 1);
    CHECK(failure("{{#if tags}}x{{/each}}").message.find("was expected") != std::string::npos);
    CHECK(failure("x{{/if}}").message.find("never opened") != std::string::npos);
    CHECK(failure("{{else}}").message.find("outside") != std::string::npos);
    CHECK(failure("{{#if tags}}a{{else}}b{{else}}c{{/if}}").message.find("second") != std::string::npos);
    CHECK(failure("{{#unless tags}}x{{/unless}}").message.find("unknown block") != std::string::npos);
    CHECK(failure("{{#each}}{{/each}}").message.find("needs a variable") != std::string::npos);
    CHECK(failure("{{upper order.number}}").message.find("unknown helper") != std::string::npos);
    CHECK(failure("{{{order.number}}}").message.find("unescaped") != std::string::npos);
    CHECK(failure("{{& order.number}}").message.find("unescaped") != std::string::npos);
    CHECK(failure("{{}}").message.find("empty") != std::string::npos);
    CHECK(failure("{{order..number}}").message.find("not a variable") != std::string::npos);
    CHECK(failure("{{order.number; rm -rf /}}").message.find("unknown helper") != std::string::npos);
    CHECK(failure("{{#each order}}x{{/each}}").message.find("not a list") != std::string::npos);
    CHECK(failure("{{order}}").message.find("object") != std::string::npos);
    CHECK(failure("{{tags}}").message.find("list") != std::string::npos);
    CHECK(tmpl::check_syntax("{{#if a}}{{b.c}}{{/if}}") == std::nullopt);  // syntax only: no context needed
    CHECK(tmpl::check_syntax("{{#if a}}").has_value());
  }

  TEST_CASE("template: deep nesting and huge output are refused") {
    std::string deep;
    for (int i = 0; i < 20; ++i) deep += "{{#if tags}}";
    for (int i = 0; i < 20; ++i) deep += "{{/if}}";
    CHECK(failure(deep).message.find("nested deeper") != std::string::npos);

    json::array many;
    for (int i = 0; i < 1000; ++i) many.push_back(json::value(std::string(1000, 'x')));
    auto big = tmpl::render("{{#each items}}{{this}}{{/each}}", json::object{{"items", many}}, tmpl::Escape::none);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error->message.find("larger than") != std::string::npos);
    CHECK(tmpl::render(std::string(tmpl::kMaxTemplateBytes + 1, 'x'), json::object{}, tmpl::Escape::none).error);
  }
}
