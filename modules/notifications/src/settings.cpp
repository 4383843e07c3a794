#include "settings.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>

namespace bazaar::notifications {

namespace json = boost::json;
using platform::ConfigError;

namespace {

bool is_event_type(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '.'; });
}

bool has_scheme(std::string_view url, std::initializer_list<std::string_view> schemes) {
  return std::any_of(schemes.begin(), schemes.end(), [&](std::string_view s) {
    return url.size() > s.size() && url.starts_with(s) && url.find_first_of(" \t\r\n") == std::string_view::npos;
  });
}

bool readable_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && std::ifstream(p).good();
}

std::vector<WebhookEndpoint> load_webhooks(const platform::Config& c) {
  constexpr std::string_view key = "notifications.webhooks";
  const json::value* v = c.find(key);
  if (!v || v->is_null()) return {};
  json::value parsed;
  if (v->is_string()) {  // from the environment: the list as JSON text
    boost::system::error_code ec;
    parsed = json::parse(v->get_string(), ec);
    if (ec) throw ConfigError(fmt::format("configuration key '{}' must be a JSON list of {{url, events}}", key));
    v = &parsed;
  }
  if (!v->is_array()) throw ConfigError(fmt::format("configuration key '{}' must be a list of {{url, events}}", key));
  std::vector<WebhookEndpoint> out;
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& item = v->get_array()[i];
    const auto at = fmt::format("{}[{}]", key, i);
    if (!item.is_object())
      throw ConfigError(fmt::format("configuration key '{}' must be an object {{url, events}}", at));
    WebhookEndpoint e;
    const auto* url = item.get_object().if_contains("url");
    if (!url || !url->is_string() || !has_scheme(url->get_string(), {"http://", "https://"})) {
      throw ConfigError(fmt::format("configuration key '{}.url' must be an http:// or https:// URL", at));
    }
    e.url = std::string(url->get_string());
    const auto* events = item.get_object().if_contains("events");
    if (!events || !events->is_array() || events->get_array().empty()) {
      throw ConfigError(fmt::format("configuration key '{}.events' must be a non-empty list of event types", at));
    }
    for (const auto& t : events->get_array()) {
      if (!t.is_string() || !is_event_type(t.get_string())) {
        throw ConfigError(
            fmt::format("configuration key '{}.events' must hold event types like \"orders.order_paid\"", at));
      }
      e.events.emplace_back(t.get_string());
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::vector<const WebhookEndpoint*> Settings::endpoints_for(std::string_view event_type) const {
  std::vector<const WebhookEndpoint*> out;
  for (const auto& e : webhooks) {
    if (std::find(e.events.begin(), e.events.end(), event_type) != e.events.end()) out.push_back(&e);
  }
  return out;
}

Settings load_settings(const platform::Config& c) {
  Settings s;
  s.store.name = c.string("notifications.store_name", "bazaar");
  if (s.store.name.empty() || s.store.name.find_first_of("\r\n") != std::string::npos) {
    throw ConfigError("configuration key 'notifications.store_name' must be a non-empty single line");
  }
  s.store.url = c.string("store.public_url", "http://localhost:3000");
  if (!has_scheme(s.store.url, {"http://", "https://"})) {
    throw ConfigError("configuration key 'store.public_url' must be an http:// or https:// URL");
  }
  while (s.store.url.ends_with('/')) s.store.url.pop_back();

  auto& e = s.email;
  e.transport = c.string("notifications.email.transport", "file");
  if (e.transport != "file" && e.transport != "smtp") {
    throw ConfigError(fmt::format(
        "configuration key 'notifications.email.transport' must be \"file\" or \"smtp\", got '{}'", e.transport));
  }
  e.dir = c.string("notifications.email.dir", ".local/mail");
  if (e.transport == "file" && e.dir.empty()) {
    throw ConfigError("configuration key 'notifications.email.dir' is required with the file transport");
  }
  e.smtp_url = c.string("notifications.email.smtp_url", "");
  if (e.transport == "smtp" && !has_scheme(e.smtp_url, {"smtp://", "smtps://"})) {
    throw ConfigError(
        "configuration key 'notifications.email.smtp_url' must be smtp://host:port or smtps://host:port "
        "with the smtp transport");
  }
  e.starttls = c.boolean("notifications.email.starttls", false);
  e.smtp_ca_file = c.string("notifications.email.smtp_ca_file", "");
  if (!e.smtp_ca_file.empty() && !readable_file(e.smtp_ca_file)) {
    throw ConfigError(fmt::format(
        "configuration key 'notifications.email.smtp_ca_file' must name a readable PEM file, cannot read '{}'",
        e.smtp_ca_file.string()));
  }
  e.username = c.string("notifications.email.username", "");
  e.password = c.string("notifications.email.password", "");
  if (!e.password.empty() && e.username.empty()) {
    throw ConfigError("configuration key 'notifications.email.username' is required when a password is set");
  }
  const auto from = c.string("notifications.email.from", "bazaar <shop@localhost>");
  auto mailbox = mime::parse_mailbox(from);
  if (!mailbox) {
    throw ConfigError(
        fmt::format("configuration key 'notifications.email.from' must be an address like "
                    "\"Shop <shop@example.com>\", got '{}'",
                    from));
  }
  e.from = *mailbox;
  e.timeout = std::chrono::milliseconds(c.integer("notifications.email.timeout_ms", 10000, 100, 600000));

  s.webhooks = load_webhooks(c);
  s.webhook_secret = c.string("notifications.webhook_secret", "");
  if (!s.webhooks.empty() && s.webhook_secret.size() < 16) {
    throw ConfigError(
        "configuration key 'notifications.webhook_secret' must be at least 16 characters when "
        "notifications.webhooks is not empty");
  }
  s.webhook_timeout = std::chrono::milliseconds(c.integer("notifications.webhook_timeout_ms", 10000, 100, 600000));

  s.worker_interval = std::chrono::milliseconds(c.integer("notifications.worker_interval_ms", 1000, 10, 86'400'000));
  s.backoff_base = std::chrono::milliseconds(c.integer("notifications.backoff_base_ms", 30000, 0, 3'600'000));
  s.max_attempts = static_cast<int>(c.integer("notifications.max_attempts", 8, 1, 100));
  s.batch_size = static_cast<int>(c.integer("notifications.batch_size", 50, 1, 1000));
  s.worker_threads = static_cast<std::size_t>(c.integer("notifications.worker_threads", 4, 1, 64));
  s.wake_on_commit = c.boolean("notifications.wake_on_commit", true);
  s.wake_delay = c.millis("notifications.wake_delay_ms", 100);
  if (s.wake_delay.count() < 0) throw platform::ConfigError("notifications.wake_delay_ms must not be negative");
  s.retention = std::chrono::days(c.integer("notifications.retention_days", 90, 1, 3650));
  s.retention_batch = static_cast<int>(c.integer("notifications.retention_batch", 1000, 1, 100'000));
  s.retention_interval =
      std::chrono::milliseconds(c.integer("notifications.retention_interval_ms", 3'600'000, 1000, 86'400'000));
  return s;
}

}  // namespace bazaar::notifications
