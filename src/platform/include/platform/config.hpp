#pragma once
// Configuration: config/default.json, then an optional --config file merged over it, then environment
// overrides (`database.url` ← BAZAAR_DATABASE__URL). Accessors validate and name the key in their errors,
// so bad configuration fails at start-up with a clear message.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::platform {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  Config() = default;
  explicit Config(boost::json::value root) : root_(std::move(root)) {}

  // Loads defaults (if the file exists), merges `override_file` (if non-empty), then the environment.
  static Config load(const std::string& defaults_file, const std::string& override_file, char** envp);
  // Applies BAZAAR_A__B=value pairs; values that parse as JSON scalars keep their type.
  void apply_env(char** envp);
  void set(std::string_view dotted_key, boost::json::value v);

  bool has(std::string_view key) const;
  std::string string(std::string_view key, std::string_view fallback) const;
  std::string required_string(std::string_view key) const;
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min = INT64_MIN,
                       std::int64_t max = INT64_MAX) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::vector<std::string> strings(std::string_view key) const;
  std::chrono::milliseconds millis(std::string_view key, std::int64_t fallback_ms) const;
  const boost::json::value* find(std::string_view key) const;
  const boost::json::value& root() const { return root_; }

 private:
  boost::json::value root_ = boost::json::object();
};

// "127.0.0.1:8080" → {host, port}; throws ConfigError naming `key` when malformed.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
ListenAddress parse_listen_address(std::string_view key, std::string_view value);

}  // namespace bazaar::platform
