// The architecture suite (DESIGN.md module rule 5, STYLE.md §7): the real tree must follow the module
// rules, and every rule is proven to fire by a planted violation in tests/architecture/fixtures/<case>/.
// The fixtures are tiny fake repositories; the build never compiles them and the real-tree check skips them.
#include "rules.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if !defined(BAZAAR_SOURCE_DIR) || !defined(BAZAAR_BINARY_DIR)
#error "the architecture tests need BAZAAR_SOURCE_DIR and BAZAAR_BINARY_DIR (compile definitions)"
#endif

namespace {

namespace fs = std::filesystem;
namespace arch = bazaar::architecture;

fs::path fixture(std::string_view name) {
  return fs::path(BAZAAR_SOURCE_DIR) / "tests" / "architecture" / "fixtures" / name;
}

// The same shape as the table CMake writes, so the fixtures also exercise the parser.
arch::DependencyTable fixture_table() {
  return arch::parse_dependency_table(
      "accounts: depends= consumes=\n"
      "catalog: depends= consumes=\n"
      "cart: depends=catalog consumes=\n"
      "orders: depends=catalog,cart consumes=accounts\n"
      "notifications: depends=accounts consumes=orders,catalog\n");
}

std::vector<arch::Violation> check_fixture(std::string_view name) {
  REQUIRE_MESSAGE(fs::is_directory(fixture(name)), "missing fixture " << fixture(name).string());
  return arch::check_tree(fixture(name), fixture_table());
}

// "file:line" of every finding of one rule, joined: one string compares (and prints) well in doctest.
std::string where(const std::vector<arch::Violation>& violations, std::string_view rule) {
  std::string out;
  for (const auto& v : violations) {
    if (v.rule != rule) continue;
    if (!out.empty()) out += ' ';
    out += v.file + ":" + std::to_string(v.line);
  }
  return out;
}

std::string report(const std::vector<arch::Violation>& violations) {
  std::string out;
  for (const auto& v : violations) out += arch::to_string(v) + "\n";
  return out;
}

// Each planted case breaks exactly one rule; anything else firing would mean a false alarm.
void check_only_rule(const std::vector<arch::Violation>& violations, std::string_view rule) {
  const auto others = std::count_if(violations.begin(), violations.end(),
                                    [&](const arch::Violation& v) { return v.rule != rule; });
  CHECK_MESSAGE(others == 0, report(violations));
}

}  // namespace

TEST_CASE("architecture: the real source tree follows the module rules") {
  const fs::path root = BAZAAR_SOURCE_DIR;
  REQUIRE_MESSAGE(fs::is_directory(root / "src" / "platform"), "BAZAAR_SOURCE_DIR is not the repo: " << root);

  const fs::path table_file = fs::path(BAZAAR_BINARY_DIR) / "module_dependencies.txt";
  std::ifstream in(table_file, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << table_file.string() << " (CMake writes it at configure time)");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

  const auto violations = arch::check_tree(root, arch::parse_dependency_table(text));
  // Breaking a rule is never the fix (DESIGN.md): every finding says what to do instead.
  CHECK_MESSAGE(violations.empty(), violations.size() << " module-rule violation(s):\n" << report(violations));
}

TEST_CASE("architecture: a clean fixture passes every rule") {
  const auto violations = check_fixture("clean");
  CHECK_MESSAGE(violations.empty(), report(violations));
}

TEST_CASE("architecture: an include path climbing with .. is caught") {
  const auto violations = check_fixture("parent_dir_include");
  CHECK(where(violations, arch::rule::kParentDirInclude) ==
        "modules/catalog/src/service.cpp:2 src/app/composition.cpp:2");
  check_only_rule(violations, arch::rule::kParentDirInclude);
}

TEST_CASE("architecture: including a module that is not declared in DEPENDS or CONSUMES is caught") {
  const auto violations = check_fixture("undeclared_dependency");
  CHECK(where(violations, arch::rule::kUndeclaredDependency) ==
        "modules/cart/include/cart/checkout.hpp:3 modules/cart/src/service.cpp:2");
  check_only_rule(violations, arch::rule::kUndeclaredDependency);
}

TEST_CASE("architecture: including another module's src/ is caught even when it is a declared dependency") {
  const auto violations = check_fixture("other_module_private");
  CHECK(where(violations, arch::rule::kOtherModulePrivate) ==
        "modules/orders/src/service.cpp:2 modules/orders/src/service.cpp:3 src/app/composition.cpp:2");
  check_only_rule(violations, arch::rule::kOtherModulePrivate);
}

TEST_CASE("architecture: a consumed module's header is allowed only as its event contract in subscriptions") {
  const auto violations = check_fixture("consumes_outside_subscriptions");
  // subscriptions.cpp:1 (<accounts/events.hpp>) and subscriptions/registered.cpp (<accounts/events/...>)
  // are the allowed uses and must stay quiet.
  CHECK(where(violations, arch::rule::kConsumesOutsideSubscriptions) ==
        "modules/orders/include/orders/subscriptions.hpp:2 modules/orders/src/service.cpp:1 "
        "modules/orders/src/subscriptions.cpp:2");
  check_only_rule(violations, arch::rule::kConsumesOutsideSubscriptions);
}

TEST_CASE("architecture: boost/beast outside the platform's HTTP sources is caught") {
  const auto violations = check_fixture("beast_outside_http");
  // src/platform/src/http/, bench/ and tests/support/ include Beast too, and are allowed to.
  CHECK(where(violations, arch::rule::kBeastOutsideHttp) ==
        "modules/catalog/src/routes.cpp:2 src/platform/include/platform/http.hpp:2 src/platform/src/db/pool.cpp:1 "
        "tests/flows/checkout_test.cpp:1");
  check_only_rule(violations, arch::rule::kBeastOutsideHttp);
}

TEST_CASE("architecture: the platform including a module header is caught") {
  const auto violations = check_fixture("platform_includes_module");
  // src/platform/src/cache/redis.cpp includes "orders/keys.hpp", a platform-local folder: not a module.
  CHECK(where(violations, arch::rule::kPlatformIncludesModule) ==
        "src/platform/include/platform/events.hpp:2 src/platform/src/events/bus.cpp:2");
  check_only_rule(violations, arch::rule::kPlatformIncludesModule);
}

TEST_CASE("architecture: a module's public header including its own src/ is caught") {
  const auto violations = check_fixture("public_includes_private");
  CHECK(where(violations, arch::rule::kPublicIncludesPrivate) ==
        "modules/catalog/include/catalog/queries.hpp:3 modules/catalog/include/catalog/queries.hpp:4");
  check_only_rule(violations, arch::rule::kPublicIncludesPrivate);
}

TEST_CASE("architecture: SQL naming another module's schema or the platform's is caught") {
  const auto violations = check_fixture("foreign_schema");
  // In R"sql( literals of a module and of the platform, and in migrations — quoted or not, any case. The
  // platform's SQL functions (platform.expect, line 15) are its public API, not a reference.
  CHECK(where(violations, arch::rule::kForeignSchema) ==
        "migrations/cart/0001_init.sql:4 migrations/platform/0001_init.sql:4 modules/cart/src/repository.cpp:10 "
        "modules/cart/src/repository.cpp:12 modules/cart/src/repository.cpp:13 modules/cart/src/repository.cpp:14 "
        "src/platform/src/db/migrate.cpp:3");
  check_only_rule(violations, arch::rule::kForeignSchema);

  const auto first = std::find_if(violations.begin(), violations.end(), [](const arch::Violation& v) {
    return v.file == "modules/cart/src/repository.cpp";
  });
  REQUIRE(first != violations.end());
  CHECK(first->message.find("catalog.variants") != std::string::npos);
}

TEST_CASE("architecture: orders.size() outside an SQL literal is not flagged") {
  // C++ code, C++ comments and strings, SQL comments and SQL string values all mention other modules'
  // names followed by a dot; none of them is a schema reference.
  const auto violations = check_fixture("sql_outside_literal");
  CHECK_MESSAGE(violations.empty(), report(violations));
}

TEST_CASE("architecture: a module directory missing from the dependency table is caught") {
  const auto violations = check_fixture("unregistered_module");
  CHECK(where(violations, arch::rule::kUnregisteredModule) == "modules/search:0");
  // It still counts as a module, so including it undeclared is caught as well.
  CHECK(where(violations, arch::rule::kUndeclaredDependency) == "modules/catalog/src/service.cpp:2");
  CHECK(violations.size() == 2);
}

TEST_CASE("architecture: the dependency table is read in CMake's format") {
  const auto table = arch::parse_dependency_table(
      "# written by bazaar_write_dependency_table\n"
      "accounts: depends= consumes=\r\n"
      "\n"
      "orders: depends=catalog,cart consumes=accounts\n"
      "notifications:   consumes=orders,accounts   depends=\n"
      "catalog: depends= consumes=");  // no final newline

  REQUIRE(table.modules.size() == 4);
  CHECK(table.modules.at("accounts").depends.empty());
  CHECK(table.modules.at("accounts").consumes.empty());
  CHECK(table.modules.at("orders").depends == std::set<std::string>{"catalog", "cart"});
  CHECK(table.modules.at("orders").consumes == std::set<std::string>{"accounts"});
  CHECK(table.modules.at("notifications").consumes == std::set<std::string>{"orders", "accounts"});
  CHECK(table.modules.contains("catalog"));

  CHECK(arch::parse_dependency_table("").modules.empty());  // no modules yet: a valid, empty table
}

TEST_CASE("architecture: a malformed dependency table is refused rather than checking nothing") {
  CHECK_THROWS_AS(arch::parse_dependency_table("orders depends=catalog\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table("orders: requires=catalog\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table("orders: depends catalog\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table("orders: depends=a depends=b\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table("orders: depends=\norders: depends=\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table(": depends=\n"), std::invalid_argument);
  CHECK_THROWS_AS(arch::parse_dependency_table("orders: depends=cat/alog\n"), std::invalid_argument);
}

TEST_CASE("architecture: a violation prints as file:line: [rule] message") {
  const arch::Violation v{"modules/cart/src/a.cpp", 7, std::string(arch::rule::kParentDirInclude), "why"};
  CHECK(arch::to_string(v) == "modules/cart/src/a.cpp:7: [include.parent_dir] why");
  CHECK_THROWS_AS(arch::check_tree(fixture("no_such_fixture"), arch::DependencyTable{}), std::invalid_argument);
}
