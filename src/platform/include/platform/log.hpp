#pragma once
// Structured logging: one JSON object per line on stderr. Secrets never reach a log line: fields named
// like secrets are redacted by the writer, whoever the caller.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace bazaar::platform::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(Level level);
Level level_from_string(std::string_view s);  // throws std::invalid_argument
bool enabled(Level level);

// Writes {"time","level","msg", ...fields}. Field values under secret-looking keys are replaced.
void write(Level level, std::string_view message, boost::json::object fields = {});
inline void debug(std::string_view m, boost::json::object f = {}) { write(Level::debug, m, std::move(f)); }
inline void info(std::string_view m, boost::json::object f = {}) { write(Level::info, m, std::move(f)); }
inline void warn(std::string_view m, boost::json::object f = {}) { write(Level::warn, m, std::move(f)); }
inline void error(std::string_view m, boost::json::object f = {}) { write(Level::error, m, std::move(f)); }

// True for keys whose values must never be logged (authorization, password, token, secret, cookie ...).
bool is_secret_key(std::string_view key);
// Redacts secret-looking keys in place, recursively.
void redact(boost::json::object& fields);

// Tests capture log output here instead of stderr.
void set_sink(void (*sink)(std::string_view line));

}  // namespace bazaar::platform::log
