#pragma once
// Sending: email through SMTP (libcurl) or into .eml files, and signed webhook POSTs (libcurl). Every call
// here blocks, with a per-message timeout, so it only ever runs on the module's worker pool — never on an
// I/O thread, never inside a database transaction.
#include "domain/mime.hpp"
#include "settings.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace bazaar::notifications {

struct SendResult {
  bool ok = false;
  std::string error;              // readable, for the delivery's last_error
  bool destination_down = false;  // connection-level failure: the rest of this pass skips the destination
};

struct OutgoingEmail {
  std::string delivery_id;  // also the Message-ID's left part and the .eml file name
  mime::Mailbox to;
  std::string subject;
  std::string text;
  std::optional<std::string> html;
};

// The MIME text of `email` as the transports send it (From, Date = now, Message-ID from the delivery id,
// so a retried delivery keeps its Message-ID and receivers can drop a duplicate).
std::string mime_text(const EmailSettings& settings, const OutgoingEmail& email,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

class EmailTransport {
 public:
  virtual ~EmailTransport() = default;
  virtual SendResult send(const OutgoingEmail& email) = 0;
};

// "file" or "smtp" per settings.transport. libcurl is initialised once per process before any handle.
std::unique_ptr<EmailTransport> make_email_transport(const EmailSettings& settings);

// Bazaar-Signature header value: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>"> (the payments scheme).
std::string webhook_signature(const std::string& secret, std::int64_t unix_time, const std::string& body);

struct WebhookPost {
  std::string url;
  std::string body;  // the event JSON
  std::string event_id;
  std::string event_type;
};

// POSTs the event JSON with Content-Type application/json and Bazaar-Signature; 2xx is success.
SendResult post_webhook(const WebhookPost& post, const std::string& secret, std::chrono::milliseconds timeout);

void init_curl_once();

}  // namespace bazaar::notifications
