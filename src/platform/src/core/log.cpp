#include <platform/ids.hpp>
#include <platform/log.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace bazaar::platform::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<void (*)(std::string_view)> g_sink{nullptr};
std::mutex g_write_mutex;

std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "info";
}

bool contains_ci(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < needle.size(); ++k) {
      if (std::tolower(static_cast<unsigned char>(haystack[i + k])) != needle[k]) {
        match = false;
        break;
      }
    }
    if (match) return true;
  }
  return false;
}
}  // namespace

void set_level(Level level) { g_level = level; }

Level level_from_string(std::string_view s) {
  if (s == "debug") return Level::debug;
  if (s == "info") return Level::info;
  if (s == "warn" || s == "warning") return Level::warn;
  if (s == "error") return Level::error;
  if (s == "off") return Level::off;
  throw std::invalid_argument("log level must be one of debug, info, warn, error, off");
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed) && level != Level::off; }

bool is_secret_key(std::string_view key) {
  static constexpr std::string_view kSecretWords[] = {"authorization", "password", "token", "secret",
                                                      "cookie",        "api_key",  "apikey", "signature"};
  for (auto word : kSecretWords) {
    if (contains_ci(key, word)) return true;
  }
  return false;
}

namespace {
// Secrets hide in nested objects and in objects inside arrays (a list of headers, of credentials).
void redact_nested(boost::json::value& v) {
  if (v.is_object()) {
    redact(v.as_object());
  } else if (v.is_array()) {
    for (auto& element : v.as_array()) redact_nested(element);
  }
}
}  // namespace

void redact(boost::json::object& fields) {
  for (auto& kv : fields) {
    if (is_secret_key(kv.key())) {
      kv.value() = "[redacted]";
    } else {
      redact_nested(kv.value());
    }
  }
}

void write(Level level, std::string_view message, boost::json::object fields) {
  if (!enabled(level)) return;
  redact(fields);
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["time"] = now_rfc3339();
  line["level"] = level_name(level);
  line["msg"] = message;
  for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
  std::string text = boost::json::serialize(line);
  if (auto sink = g_sink.load()) {
    sink(text);
    return;
  }
  text.push_back('\n');
  std::lock_guard lock(g_write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void set_sink(void (*sink)(std::string_view line)) { g_sink = sink; }

}  // namespace bazaar::platform::log
