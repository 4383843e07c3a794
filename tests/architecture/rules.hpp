#pragma once
// The checker behind the architecture suite (DESIGN.md "Module rules" 1–2, STYLE.md §7): it reads a source
// tree as plain text and reports every include and every SQL schema reference that breaks the module
// boundaries. Standard library only and parameterised by root + table, so that the same code checks the
// real tree and the planted fixtures that prove each rule actually fires.
//
// What it checks (rule ids below):
//   includes  — in *.cpp/*.hpp/*.h/*.cc/*.hh/*.cxx/*.ipp/*.inl, line-based `#include <…>` / `"…"`:
//     * no `..` path component, anywhere;
//     * `boost/beast` only in src/platform/src/http/, bench/ and tests/support/;
//     * nobody includes another module's private files (`<x/src/…>`, `…modules/x/src/…`);
//     * a file of module m includes `<x/…>` only if m DEPENDS on x, or m CONSUMES x, the file lies under
//       modules/m/src/ in a file or folder named "subscriptions*", and the header is x's event contract
//       (`<x/events.hpp>` or `<x/events/…>`);
//     * src/platform/ includes no module header (`<x/…>` for a module x, or anything under modules/);
//     * modules/m/include/ headers do not reach modules/m/src/ (a `src` component, or a quoted include
//       that only resolves through the module's private include directory).
//   SQL — only inside `R"sql(` … `)sql"` literals (modules/** and src/platform/**) and in migrations/<s>/**.sql:
//     a schema-qualified name `<schema>.<ident>` whose schema is a module or `platform` must be the owner's
//     own schema (module m → m, src/platform → platform, migrations/<s> → s). `--` and `/* */` comments
//     and '…' string literals are skipped (event type strings like 'catalog.stock_reserved' are not names).
//   modules — every directory under modules/ must appear in the dependency table, or the rules above
//     would silently not apply to it.
//
// Known limits, on purpose (text scanning, not a compiler): `#include` inside a /* */ block is still read;
// macro-computed includes are not seen; an SQL alias or table qualifier spelled like another module
// (`… FROM catalog.items orders`, then `orders.id`) is reported — pick another alias.
#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::architecture {

// Rule ids, stable so that tests and humans can grep for them.
namespace rule {
inline constexpr std::string_view kParentDirInclude = "include.parent_dir";
inline constexpr std::string_view kBeastOutsideHttp = "include.beast_outside_http";
inline constexpr std::string_view kOtherModulePrivate = "include.other_module_private";
inline constexpr std::string_view kUndeclaredDependency = "include.undeclared_dependency";
inline constexpr std::string_view kConsumesOutsideSubscriptions = "include.consumes_outside_subscriptions";
inline constexpr std::string_view kPlatformIncludesModule = "include.platform_includes_module";
inline constexpr std::string_view kPublicIncludesPrivate = "include.public_includes_private";
inline constexpr std::string_view kForeignSchema = "sql.foreign_schema";
inline constexpr std::string_view kUnregisteredModule = "module.unregistered";
}  // namespace rule

struct ModuleDependencies {
  std::set<std::string> depends;   // modules whose facades it may call (include anywhere in the module)
  std::set<std::string> consumes;  // modules whose events it subscribes to (include in subscriptions* only)
};

// The allowed-dependency table CMake writes at configure time (cmake/BazaarModule.cmake), so the rules
// are declared once, in bazaar_add_module(), and never hand-copied per pair.
struct DependencyTable {
  std::map<std::string, ModuleDependencies> modules;
};

// Parses lines of the form `<name>: depends=<a,b> consumes=<c>` (lists may be empty; blank lines and
// `#` comments are skipped). Throws std::invalid_argument on anything else: a table that cannot be read
// must fail the test loudly rather than check nothing.
DependencyTable parse_dependency_table(std::string_view text);

struct Violation {
  std::string file;      // relative to the checked root, '/'-separated
  std::size_t line = 0;  // 1-based; 0 when the finding concerns a whole file or directory
  std::string rule;      // one of the ids in namespace rule
  std::string message;   // what is wrong and what to do instead

  bool operator==(const Violation&) const = default;
};

// "file:line: [rule] message" — the shape compilers use, so editors can jump to it.
std::string to_string(const Violation& v);

// Checks every source, header and migration under root. Skips top-level directories whose names start
// with "." or "build" (build trees, .git, .local) and tests/architecture/fixtures/ (planted violations).
// Findings are ordered by file, then line. Throws std::invalid_argument if root is not a directory.
std::vector<Violation> check_tree(const std::filesystem::path& root, const DependencyTable& table);

}  // namespace bazaar::architecture
