#include "rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <utility>

namespace bazaar::architecture {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 8> kSourceExtensions{".cpp", ".hpp", ".h",   ".cc",
                                                            ".hh",  ".cxx", ".ipp", ".inl"};
constexpr std::string_view kSqlOpen = "R\"sql(";
constexpr std::string_view kSqlClose = ")sql\"";
constexpr std::string_view kPlatformSchema = "platform";
// The platform's SQL API: functions every module's SQL may call (they live in the platform schema but
// touch no table of it). migrations/platform/0002_expect.sql explains platform.expect.
constexpr std::array<std::string_view, 1> kPlatformSqlFunctions{"platform.expect"};

// Where Beast may appear: the platform's HTTP sources (the only production TUs that pay for it, STYLE §3),
// plus test and benchmark code that drives the server from outside.
constexpr std::array<std::string_view, 3> kBeastAllowedUnder{"src/platform/src/http", "bench", "tests/support"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "a//b/./c" -> {a, b, c}; ".." is kept because it is exactly what the first rule looks for.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

// True when rel is dir itself or lies below it (so "bench" does not match "benchmarks.cpp").
bool is_under(std::string_view rel, std::string_view dir) {
  return rel.starts_with(dir) && (rel.size() == dir.size() || rel[dir.size()] == '/');
}

bool contains(const std::vector<std::string>& parts, std::string_view what) {
  return std::find(parts.begin(), parts.end(), what) != parts.end();
}

// nullopt when the file vanished after it was listed (an editor's or a build's temporary file); any other
// failure to read throws, because an unread file would be a silently unchecked one.
std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) return std::nullopt;
    throw std::runtime_error("architecture: cannot read " + path.string());
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Include {
  std::size_t line;
  std::string path;
  bool angled;  // <...> searches only include directories; "..." first looks next to the includer
};

// Line-based on purpose: `#include` must start its line (after blanks), which is how the preprocessor
// sees it and keeps string literals that merely mention "#include" out of the way.
std::vector<Include> find_includes(std::string_view text) {
  std::vector<Include> includes;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const auto eol = std::min(text.find('\n', pos), text.size());
    auto line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (!line.starts_with('#')) continue;
    line = trim(line.substr(1));
    if (!line.starts_with("include")) continue;
    line = trim(line.substr(std::string_view("include").size()));
    if (line.empty()) continue;
    const char open = line.front();
    const char close = open == '<' ? '>' : open == '"' ? '"' : '\0';
    if (close == '\0') continue;  // a macro-computed include: nothing to check by reading text
    const auto end = line.find(close, 1);
    if (end == std::string_view::npos) continue;
    includes.push_back({line_no, std::string(line.substr(1, end - 1)), open == '<'});
  }
  return includes;
}

struct SqlText {
  std::string_view text;
  std::size_t first_line;  // line of text[0] within its file
};

// The contents of every R"sql( ... )sql" literal. SQL lives only there (STYLE §2), which is what lets
// `orders.size()` in ordinary C++ go unreported.
std::vector<SqlText> find_sql_literals(std::string_view text) {
  std::vector<SqlText> literals;
  std::size_t line_no = 1;
  std::size_t counted_to = 0;  // text[0, counted_to) has been counted into line_no
  auto advance_lines = [&](std::size_t to) {
    line_no += static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(counted_to),
                                                   text.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
    counted_to = to;
  };
  std::size_t pos = 0;
  while ((pos = text.find(kSqlOpen, pos)) != std::string_view::npos) {
    const auto begin = pos + kSqlOpen.size();
    const auto end = std::min(text.find(kSqlClose, begin), text.size());  // unterminated: the compiler says so
    advance_lines(begin);
    literals.push_back({text.substr(begin, end - begin), line_no});
    pos = end;
  }
  return literals;
}

struct SchemaReference {
  std::size_t line;
  std::string schema;
  std::string qualified;  // e.g. "catalog.variants", for the message
};

// A tiny PostgreSQL lexer: enough to find `<ident>.<ident>` while skipping comments, string literals and
// numbers. Unquoted identifiers fold to lower case as PostgreSQL folds them; "quoted" ones keep their case.
// Dollar-quoted bodies ($$ … $$) are scanned as SQL: in migrations they are function bodies.
std::vector<SchemaReference> find_qualified_names(const SqlText& sql, const std::set<std::string>& schemas) {
  std::vector<SchemaReference> found;
  const auto s = sql.text;
  std::size_t line = sql.first_line;
  bool after_dot = false;  // the previous token was '.', so the next name is a table or column, not a schema
  std::size_t i = 0;

  auto skip_to = [&](std::size_t to) {
    to = std::min(to, s.size());
    line += static_cast<std::size_t>(std::count(s.begin() + static_cast<std::ptrdiff_t>(i),
                                                s.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
    i = to;
  };
  auto next_non_space = [&](std::size_t from) {
    while (from < s.size() && is_space(s[from])) ++from;
    return from;
  };
  // Reads a name at `at` (bare or "quoted"); returns {name, one past its end} or an empty name.
  auto read_name = [&](std::size_t at) -> std::pair<std::string, std::size_t> {
    if (at < s.size() && s[at] == '"') {
      std::string name;
      std::size_t j = at + 1;
      while (j < s.size()) {
        if (s[j] == '"') {
          if (j + 1 < s.size() && s[j + 1] == '"') {
            name += '"';
            j += 2;
            continue;
          }
          return {name, j + 1};
        }
        name += s[j++];
      }
      return {name, j};
    }
    if (at < s.size() && is_ident_start(s[at])) {
      std::size_t j = at;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      return {lower(s.substr(at, j - at)), j};
    }
    return {std::string(), at};
  };

  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      skip_to(i + 1);
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      skip_to(s.find('\n', i));
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const auto end = s.find("*/", i + 2);
      skip_to(end == std::string_view::npos ? s.size() : end + 2);
    } else if (c == '\'') {
      // '...' with '' as the escaped quote: a value, never a name.
      std::size_t j = i + 1;
      while (j < s.size() && !(s[j] == '\'' && (j + 1 >= s.size() || s[j + 1] != '\''))) j += s[j] == '\'' ? 2 : 1;
      skip_to(j + 1);
      after_dot = false;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '$') {
      // Numbers (1.5e3) and $1 / $tag$ markers: one token, so their dots and letters are no names.
      std::size_t j = i + 1;
      while (j < s.size() && (is_ident_char(s[j]) || (c != '$' && s[j] == '.'))) ++j;
      if (c == '$' && j < s.size() && s[j] == '$') ++j;
      skip_to(j);
      after_dot = false;
    } else if (is_ident_start(c) || c == '"') {
      const auto start_line = line;
      auto [name, end] = read_name(i);
      const bool was_after_dot = after_dot;
      after_dot = false;
      const auto dot = next_non_space(end);
      if (!was_after_dot && dot < s.size() && s[dot] == '.' && schemas.contains(name)) {
        const auto member = read_name(next_non_space(dot + 1)).first;
        if (!member.empty()) found.push_back({start_line, name, name + "." + member});
      }
      skip_to(end);
    } else {
      after_dot = c == '.';
      skip_to(i + 1);
    }
  }
  return found;
}

bool is_source_file(const fs::path& path) {
  const auto ext = path.extension().string();
  return std::find(kSourceExtensions.begin(), kSourceExtensions.end(), ext) != kSourceExtensions.end();
}

// Build trees and dot-directories (.git, .local, .cache) are not sources; the fixtures are planted
// violations that only their own tests may look at.
bool is_skipped_dir(std::string_view rel) {
  const auto first = rel.substr(0, rel.find('/'));
  return first.starts_with('.') || first.starts_with("build") || rel == "tests/architecture/fixtures";
}

class TreeChecker {
 public:
  TreeChecker(fs::path root, const DependencyTable& table) : root_(std::move(root)), table_(table) {
    for (const auto& [name, deps] : table_.modules) modules_.insert(name);
    // A module directory missing from the table is still a module: its neighbours must not include it,
    // and it is reported below so that its own rules get declared.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_ / "modules", ec)) {
      if (!entry.is_directory()) continue;
      const auto name = entry.path().filename().string();
      if (name.starts_with('.')) continue;
      if (!table_.modules.contains(name)) {
        add("modules/" + name, 0, rule::kUnregisteredModule,
            "module directory '" + name + "' is not in the dependency table; declare it with "
            "bazaar_add_module(" + name + " DEPENDS ... CONSUMES ...) and add it to the top-level CMakeLists");
      }
      modules_.insert(name);
    }
    schemas_ = modules_;
    schemas_.insert(std::string(kPlatformSchema));
  }

  void check_file(const std::string& rel) {
    const auto parts = split_path(rel);
    const bool is_source = is_source_file(rel);
    const bool is_migration = parts.size() >= 2 && parts[0] == "migrations" && fs::path(rel).extension() == ".sql";
    if (!is_source && !is_migration) return;
    const auto content = read_file(root_ / rel);
    if (!content) return;
    const std::string_view text = *content;

    if (is_migration) {
      // migrations/<schema>/NNNN_what.sql belongs to <schema>; a file directly in migrations/ owns nothing.
      const auto owner = parts.size() >= 3 ? parts[1] : std::string();
      check_sql(rel, {text, 1}, owner);
      return;
    }
    for (const auto& inc : find_includes(text)) check_include(rel, parts, inc);

    std::string owner;
    if (parts.size() >= 3 && parts[0] == "modules") owner = parts[1];
    if (is_under(rel, "src/platform")) owner = kPlatformSchema;
    if (!owner.empty()) {
      for (const auto& literal : find_sql_literals(text)) check_sql(rel, literal, owner);
    }
  }

  std::vector<Violation> take() {
    std::stable_sort(violations_.begin(), violations_.end(), [](const Violation& a, const Violation& b) {
      return std::tie(a.file, a.line) < std::tie(b.file, b.line);
    });
    return std::move(violations_);
  }

 private:
  void add(std::string file, std::size_t line, std::string_view rule, std::string message) {
    violations_.push_back({std::move(file), line, std::string(rule), std::move(message)});
  }

  void check_include(const std::string& rel, const std::vector<std::string>& file_parts, const Include& inc) {
    const auto parts = split_path(inc.path);
    const auto shown = inc.angled ? "<" + inc.path + ">" : "\"" + inc.path + "\"";
    const bool in_module = file_parts.size() >= 3 && file_parts[0] == "modules";
    const auto own = in_module ? file_parts[1] : std::string();
    const auto area = in_module ? file_parts[2] : std::string();  // "include", "src", ...

    if (contains(parts, "..")) {
      add(rel, inc.line, rule::kParentDirInclude,
          shown + " climbs with '..'; include public headers as <module/...> and private ones by their "
                  "path inside src/");
    }

    if ((inc.path.starts_with("boost/beast/") || inc.path == "boost/beast.hpp") &&
        std::none_of(kBeastAllowedUnder.begin(), kBeastAllowedUnder.end(),
                     [&](std::string_view dir) { return is_under(rel, dir); })) {
      add(rel, inc.line, rule::kBeastOutsideHttp,
          shown + ": Boost.Beast belongs to src/platform/src/http/ only; use <platform/http.hpp>");
    }

    // Someone else's private files, in either spelling: <x/src/...> or a path through modules/x/src/.
    if (const auto x = private_target(parts); !x.empty() && x != own) {
      add(rel, inc.line, rule::kOtherModulePrivate,
          shown + " reaches into the private src/ of module '" + x + "'; use its public <" + x + "/...> headers");
      return;
    }

    if (is_under(rel, "src/platform")) {
      if ((!parts.empty() && modules_.contains(parts[0]) && !resolves_locally(rel, "", inc)) ||
          contains(parts, "modules")) {
        add(rel, inc.line, rule::kPlatformIncludesModule,
            shown + ": the platform must not know any module; modules depend on the platform, never back");
      }
      return;
    }
    if (!in_module) return;  // the composition root, tests and tools may see every public header

    if (area == "include") {
      const auto own_src = root_ / "modules" / own / "src";
      const bool names_src = contains(parts, "src");
      const bool only_via_src = !inc.angled && !fs::exists(root_ / fs::path(rel).parent_path() / inc.path) &&
                                fs::exists(own_src / inc.path);
      if (names_src || only_via_src) {
        add(rel, inc.line, rule::kPublicIncludesPrivate,
            shown + ": a public header of '" + own + "' must not include its own src/ — clients do not have it "
                    "on their include path; move what they need into include/" + own + "/");
      }
      if (only_via_src) return;
    }

    if (parts.empty() || !modules_.contains(parts[0]) || parts[0] == own || parts.size() < 2) return;
    if (resolves_locally(rel, own, inc)) return;  // e.g. "catalog/client.hpp" inside orders' own src/
    const auto& x = parts[0];
    const auto found = table_.modules.find(own);
    const auto* deps = found == table_.modules.end() ? nullptr : &found->second;
    if (deps != nullptr && deps->depends.contains(x)) return;
    if (deps != nullptr && deps->consumes.contains(x)) {
      // subscriptions.cpp, subscriptions_orders.cpp, or anything in a src/**/subscriptions*/ folder.
      const bool in_subscriptions =
          area == "src" && std::any_of(file_parts.begin() + 3, file_parts.end(),
                                       [](const std::string& p) { return p.starts_with("subscriptions"); });
      const bool is_event_contract = parts[1] == "events.hpp" || parts[1] == "events";
      if (!in_subscriptions || !is_event_contract) {
        add(rel, inc.line, rule::kConsumesOutsideSubscriptions,
            shown + ": '" + own + "' only CONSUMES '" + x + "', which allows <" + x +
                "/events.hpp> in modules/" + own + "/src/subscriptions*; to call '" + x +
                "', declare DEPENDS " + x);
      }
      return;
    }
    add(rel, inc.line, rule::kUndeclaredDependency,
        shown + ": module '" + own + "' does not declare '" + x + "' in DEPENDS or CONSUMES (bazaar_add_module)");
  }

  // The module whose private src/ an include path names, or "" if none.
  std::string private_target(const std::vector<std::string>& parts) const {
    if (parts.size() >= 2 && modules_.contains(parts[0]) && parts[1] == "src") return parts[0];
    for (std::size_t k = 0; k + 2 < parts.size(); ++k) {
      if (parts[k] == "modules" && parts[k + 2] == "src") return parts[k + 1];
    }
    return {};
  }

  // A quoted include found next to the includer (or in the own module's src/) is a local file that merely
  // happens to start with a module's name, not that module's header.
  bool resolves_locally(const std::string& rel, const std::string& own, const Include& inc) const {
    if (inc.angled) return false;
    if (fs::exists(root_ / fs::path(rel).parent_path() / inc.path)) return true;
    return !own.empty() && fs::exists(root_ / "modules" / own / "src" / inc.path);
  }

  void check_sql(const std::string& rel, const SqlText& sql, const std::string& owner) {
    for (const auto& ref : find_qualified_names(sql, schemas_)) {
      if (ref.schema == owner) continue;
      if (std::find(kPlatformSqlFunctions.begin(), kPlatformSqlFunctions.end(), ref.qualified) !=
          kPlatformSqlFunctions.end()) {
        continue;
      }
      const auto whose =
          owner.empty() ? std::string("this file (it sits in no schema's directory)") : "'" + owner + "'";
      add(rel, ref.line, rule::kForeignSchema,
          "SQL names " + ref.qualified + ", but " + whose + " may touch only its own schema" +
              (ref.schema == kPlatformSchema ? "; reach the platform schema through src/ APIs"
                                             : "; ask module '" + ref.schema + "' through its facade or events"));
    }
  }

  fs::path root_;
  const DependencyTable& table_;
  std::set<std::string> modules_;  // the table's modules plus any directory under modules/
  std::set<std::string> schemas_;  // modules_ plus "platform"
  std::vector<Violation> violations_;
};

}  // namespace

DependencyTable parse_dependency_table(std::string_view text) {
  DependencyTable table;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const auto eol = std::min(text.find('\n', pos), text.size());
    const auto line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.starts_with('#')) continue;

    auto fail = [&](const std::string& why) {
      throw std::invalid_argument("module dependency table, line " + std::to_string(line_no) + ": " + why +
                                  " in '" + std::string(line) + "'");
    };
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) fail("expected '<module>: depends=... consumes=...'");
    const auto name = trim(line.substr(0, colon));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_ident_char)) fail("bad module name");
    if (table.modules.contains(std::string(name))) fail("module listed twice");
    auto& deps = table.modules[std::string(name)];

    std::istringstream fields{std::string(line.substr(colon + 1))};
    std::set<std::string> seen_keys;
    for (std::string field; fields >> field;) {
      const auto eq = field.find('=');
      if (eq == std::string::npos) fail("expected key=value, got '" + field + "'");
      const auto key = field.substr(0, eq);
      if (key != "depends" && key != "consumes") fail("unknown key '" + key + "'");
      if (!seen_keys.insert(key).second) fail("key '" + key + "' given twice");
      auto& into = key == "depends" ? deps.depends : deps.consumes;
      std::string_view list = std::string_view(field).substr(eq + 1);
      while (!list.empty()) {
        const auto comma = std::min(list.find(','), list.size());
        const auto item = trim(list.substr(0, comma));
        if (!item.empty()) {
          if (!std::all_of(item.begin(), item.end(), is_ident_char)) {
            fail("bad module name '" + std::string(item) + "'");
          }
          into.emplace(item);
        }
        list.remove_prefix(std::min(comma + 1, list.size()));
      }
    }
  }
  return table;
}

std::string to_string(const Violation& v) {
  return v.file + ":" + std::to_string(v.line) + ": [" + v.rule + "] " + v.message;
}

std::vector<Violation> check_tree(const std::filesystem::path& root, const DependencyTable& table) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(root)) throw std::invalid_argument("architecture: not a directory: " + root.string());

  // Collect first and sort, so that findings come out in the same order on every file system.
  std::vector<std::string> files;
  // A file vanishing between listing and stat (a concurrent build's temporary) is not a finding; a walk
  // that fails outright throws (++it), because stopping early would check less without saying so.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto rel = it->path().lexically_relative(root).generic_string();
    if (it->is_directory(ec)) {
      if (is_skipped_dir(rel)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(rel);
  }
  std::sort(files.begin(), files.end());

  TreeChecker checker(root, table);
  for (const auto& rel : files) checker.check_file(rel);
  return checker.take();
}

}  // namespace bazaar::architecture
