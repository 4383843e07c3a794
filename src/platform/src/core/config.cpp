#include <platform/config.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bazaar::platform {

namespace json = boost::json;

namespace {

json::value read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("cannot read configuration file '{}'", path));
  std::stringstream buf;
  buf << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(buf.str(), ec);
  if (ec) throw ConfigError(fmt::format("configuration file '{}' is not valid JSON: {}", path, ec.message()));
  if (!v.is_object()) throw ConfigError(fmt::format("configuration file '{}' must hold a JSON object", path));
  return v;
}

// Objects merge key by key; anything else replaces.
void merge_into(json::value& base, const json::value& over) {
  if (base.is_object() && over.is_object()) {
    for (const auto& kv : over.get_object()) merge_into(base.as_object()[kv.key()], kv.value());
  } else {
    base = over;
  }
}

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto dot = key.find('.', start);
    const auto end = dot == std::string_view::npos ? key.size() : dot;
    parts.push_back(key.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// An environment value keeps its JSON type when it parses as a scalar or array ("8", "true", "[...]");
// anything else is a string. An empty value is an empty string (e.g. disabling a listener).
json::value env_value(std::string_view text) {
  if (text.empty()) return json::string();
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (!ec && !v.is_object()) return v;
  return json::string(text);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

extern const char* const kDefaultConfigJson;  // embedded config/default.json (generated at build time)

Config Config::load(const std::string& defaults_file, const std::string& override_file, char** envp) {
  boost::system::error_code ec;
  json::value root = defaults_file.empty() ? json::parse(kDefaultConfigJson, ec) : read_json_file(defaults_file);
  if (ec || !root.is_object()) throw ConfigError("the built-in default configuration is not valid JSON");
  if (!override_file.empty()) merge_into(root, read_json_file(override_file));
  Config cfg(std::move(root));
  cfg.apply_env(envp);
  return cfg;
}

void Config::apply_env(char** envp) {
  if (!envp) return;
  static constexpr std::string_view kPrefix = "BAZAAR_";
  for (char** e = envp; *e; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kPrefix.size()) != kPrefix) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = entry.substr(kPrefix.size(), eq - kPrefix.size());
    if (name.find("__") == std::string_view::npos) continue;  // BAZAAR_ADMIN_PASSWORD etc. are not config keys
    std::string dotted;
    std::size_t pos = 0;
    while (pos < name.size()) {
      const auto sep = name.find("__", pos);
      const auto end = sep == std::string_view::npos ? name.size() : sep;
      if (!dotted.empty()) dotted.push_back('.');
      dotted += lower(name.substr(pos, end - pos));
      if (sep == std::string_view::npos) break;
      pos = sep + 2;
    }
    set(dotted, env_value(entry.substr(eq + 1)));
  }
}

void Config::set(std::string_view dotted_key, json::value v) {
  json::value* node = &root_;
  for (auto part : split_key(dotted_key)) {
    if (!node->is_object()) *node = json::object();
    node = &node->as_object()[part];
  }
  *node = std::move(v);
}

const json::value* Config::find(std::string_view key) const {
  const json::value* node = &root_;
  for (auto part : split_key(key)) {
    if (!node->is_object()) return nullptr;
    node = node->get_object().if_contains(part);
    if (!node) return nullptr;
  }
  return node;
}

bool Config::has(std::string_view key) const { return find(key) != nullptr; }

std::string Config::string(std::string_view key, std::string_view fallback) const {
  const json::value* v = find(key);
  if (!v || v->is_null()) return std::string(fallback);
  if (!v->is_string()) throw ConfigError(fmt::format("configuration key '{}' must be a string", key));
  return std::string(v->get_string());
}

std::string Config::required_string(std::string_view key) const {
  auto s = string(key, "");
  if (s.empty()) throw ConfigError(fmt::format("configuration key '{}' is required", key));
  return s;
}

std::int64_t Config::integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
  const json::value* v = find(key);
  std::int64_t n = fallback;
  if (v && !v->is_null()) {
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      n = static_cast<std::int64_t>(v->get_uint64());
    } else if (v->is_string()) {
      std::string_view s = v->get_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || p != s.data() + s.size())
        throw ConfigError(fmt::format("configuration key '{}' must be an integer, got '{}'", key, s));
    } else {
      throw ConfigError(fmt::format("configuration key '{}' must be an integer", key));
    }
  }
  if (n < min || n > max)
    throw ConfigError(fmt::format("configuration key '{}' must be between {} and {}, got {}", key, min, max, n));
  return n;
}

bool Config::boolean(std::string_view key, bool fallback) const {
  const json::value* v = find(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_bool()) return v->get_bool();
  if (v->is_string()) {
    const auto s = lower(v->get_string());
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  }
  throw ConfigError(fmt::format("configuration key '{}' must be true or false", key));
}

std::vector<std::string> Config::strings(std::string_view key) const {
  const json::value* v = find(key);
  std::vector<std::string> out;
  if (!v || v->is_null()) return out;
  if (v->is_string()) {  // from the environment: comma-separated
    std::string_view s = v->get_string();
    std::size_t pos = 0;
    while (pos <= s.size() && !s.empty()) {
      auto comma = s.find(',', pos);
      auto item = s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    return out;
  }
  if (!v->is_array()) throw ConfigError(fmt::format("configuration key '{}' must be a list of strings", key));
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) throw ConfigError(fmt::format("configuration key '{}' must be a list of strings", key));
    out.emplace_back(e.get_string());
  }
  return out;
}

std::chrono::milliseconds Config::millis(std::string_view key, std::int64_t fallback_ms) const {
  return std::chrono::milliseconds(integer(key, fallback_ms, 0, 86'400'000LL * 365));
}

ListenAddress parse_listen_address(std::string_view key, std::string_view value) {
  const auto colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw ConfigError(fmt::format("configuration key '{}' must look like \"127.0.0.1:8080\", got '{}'", key, value));
  ListenAddress a;
  a.host = std::string(value.substr(0, colon));
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  unsigned port = 0;
  auto digits = value.substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || p != digits.data() + digits.size() || port > 65535)
    throw ConfigError(fmt::format("configuration key '{}' has an invalid port in '{}'", key, value));
  a.port = static_cast<std::uint16_t>(port);
  return a;
}

}  // namespace bazaar::platform
