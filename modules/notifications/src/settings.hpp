#pragma once
// The module's configuration (config/default.json "notifications", plus store.public_url), read and
// validated once at start-up: a bad value is a platform::ConfigError naming the key, never a failure later.
#include "domain/catalogue.hpp"
#include "domain/mime.hpp"

#include <platform/config.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace bazaar::notifications {

struct EmailSettings {
  std::string transport = "file";  // "file" | "smtp"
  std::filesystem::path dir;       // file transport: <dir>/<delivery id>.eml
  std::string smtp_url;            // smtp://host:port or smtps://host:port
  bool starttls = false;           // require STARTTLS on smtp://: no plaintext fallback
  // PEM CA certificates that verify the server's certificate (STARTTLS or smtps://) instead of the
  // system's trust store, e.g. a company CA. Verification itself is never turned off.
  std::filesystem::path smtp_ca_file;
  std::string username;            // SMTP AUTH, when non-empty
  std::string password;
  mime::Mailbox from;
  std::chrono::milliseconds timeout{10000};  // per message, connection included
};

struct WebhookEndpoint {
  std::string url;
  std::vector<std::string> events;  // event types, e.g. "orders.order_paid"
};

struct Settings {
  domain::Store store;
  EmailSettings email;
  std::vector<WebhookEndpoint> webhooks;
  std::string webhook_secret;
  std::chrono::milliseconds webhook_timeout{10000};
  std::chrono::milliseconds worker_interval{1000};
  std::chrono::milliseconds backoff_base{30000};  // attempt n waits base·2^(n-1), at most 6 h
  int max_attempts = 8;
  int batch_size = 50;
  std::size_t worker_threads = 4;  // concurrent sends (libcurl is blocking)
  bool wake_on_commit = true;      // send right after the event's transaction commits, not at the next poll
  // ...after this long, so that what commits meanwhile goes out in the same pass (one claim, not one each;
  // an email 100 ms later is no later for its reader)
  std::chrono::milliseconds wake_delay{100};
  // Retention (job "notifications-retention"): sent and dead deliveries, and in-app messages read, longer
  // ago than `retention` are deleted, at most `retention_batch` rows a statement.
  std::chrono::days retention{90};
  int retention_batch = 1000;
  std::chrono::milliseconds retention_interval{3'600'000};

  // Webhook endpoints subscribed to `event_type`.
  std::vector<const WebhookEndpoint*> endpoints_for(std::string_view event_type) const;
};

Settings load_settings(const platform::Config& config);

}  // namespace bazaar::notifications
