#include "transport.hpp"

#include <platform/security.hpp>

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <system_error>

namespace bazaar::notifications {

namespace fs = std::filesystem;

namespace {

struct CurlHandle {
  CURL* h = curl_easy_init();
  curl_slist* list = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  ~CurlHandle() {
    if (list) curl_slist_free_all(list);
    if (h) curl_easy_cleanup(h);
  }
  CurlHandle() = default;
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
};

// Failures that say nothing about the message and everything about the server: skip it for this pass.
bool connection_level(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_LOGIN_DENIED:
      return true;
    default:
      return false;
  }
}

std::string curl_failure(const CurlHandle& c, CURLcode rc, std::string_view what) {
  long reply = 0;
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &reply);
  std::string detail = c.error[0] ? std::string(c.error) : std::string(curl_easy_strerror(rc));
  if (reply > 0) return fmt::format("{}: {} (server replied {})", what, detail, reply);
  return fmt::format("{}: {}", what, detail);
}

// What to look at, for the SMTP failures whose libcurl text alone leaves an operator guessing.
std::string_view smtp_hint(CURLcode rc) {
  switch (rc) {
    case CURLE_LOGIN_DENIED:
      return "the server refused the login: check notifications.email.username and notifications.email.password";
    case CURLE_USE_SSL_FAILED:
      return "notifications.email.starttls requires TLS and the server offers none: nothing was sent";
    case CURLE_PEER_FAILED_VERIFICATION:
      return "the server's certificate is not trusted: notifications.email.smtp_ca_file names a CA to trust";
    case CURLE_SSL_CACERT_BADFILE:
      return "notifications.email.smtp_ca_file holds no usable CA certificate";
    default:
      return {};
  }
}

std::string smtp_failure(const CurlHandle& c, CURLcode rc) {
  auto text = curl_failure(c, rc, "smtp");
  if (const auto hint = smtp_hint(rc); !hint.empty()) fmt::format_to(std::back_inserter(text), " — {}", hint);
  return text;
}

void common_options(CurlHandle& c, const std::string& url, std::chrono::milliseconds timeout) {
  curl_easy_setopt(c.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from worker threads
  curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c.h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<std::int64_t>(timeout.count(), 5000)));
  curl_easy_setopt(c.h, CURLOPT_ERRORBUFFER, c.error);
}

class FileTransport final : public EmailTransport {
 public:
  explicit FileTransport(const EmailSettings& s) : settings_(s) {
    std::error_code ec;
    fs::create_directories(settings_.dir, ec);  // a failure shows up (readably) on the first send
  }

  SendResult send(const OutgoingEmail& email) override {
    std::error_code ec;
    fs::create_directories(settings_.dir, ec);
    if (ec) return {false, fmt::format("mail directory {}: {}", settings_.dir.string(), ec.message()), true};
    const auto final_path = settings_.dir / (email.delivery_id + ".eml");
    const auto temp_path = settings_.dir / ("." + email.delivery_id + ".eml.tmp");
    {
      std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
      const std::string text = mime_text(settings_, email);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      out.flush();
      if (!out) return {false, fmt::format("cannot write {}", temp_path.string()), true};
    }
    fs::rename(temp_path, final_path, ec);  // readers never see half a message
    if (ec) return {false, fmt::format("cannot rename to {}: {}", final_path.string(), ec.message()), true};
    return {true, {}, false};
  }

 private:
  EmailSettings settings_;
};

class SmtpTransport final : public EmailTransport {
 public:
  explicit SmtpTransport(const EmailSettings& s) : settings_(s) {}

  SendResult send(const OutgoingEmail& email) override {
    struct Upload {
      std::string data;
      std::size_t pos = 0;
    } upload{mime_text(settings_, email)};
    auto read = +[](char* buffer, std::size_t size, std::size_t n, void* user) -> std::size_t {
      auto* u = static_cast<Upload*>(user);
      const std::size_t len = std::min(size * n, u->data.size() - u->pos);
      std::memcpy(buffer, u->data.data() + u->pos, len);
      u->pos += len;
      return len;
    };

    CurlHandle c;
    if (!c.h) return {false, "smtp: could not create a libcurl handle", false};
    common_options(c, settings_.smtp_url, settings_.timeout);
    const std::string from = "<" + settings_.from.address + ">";
    const std::string to = "<" + email.to.address + ">";
    c.list = curl_slist_append(nullptr, to.c_str());
    curl_easy_setopt(c.h, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c.h, CURLOPT_MAIL_RCPT, c.list);
    curl_easy_setopt(c.h, CURLOPT_READFUNCTION, read);
    curl_easy_setopt(c.h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c.h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c.h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.data.size()));
    // CURLUSESSL_ALL: without STARTTLS the transfer fails; it never goes on in plaintext. Peer and host
    // verification stay at libcurl's defaults (on); only the trusted CAs may come from config.
    if (settings_.starttls) curl_easy_setopt(c.h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!settings_.smtp_ca_file.empty()) curl_easy_setopt(c.h, CURLOPT_CAINFO, settings_.smtp_ca_file.c_str());
    if (!settings_.username.empty()) {
      curl_easy_setopt(c.h, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(c.h, CURLOPT_PASSWORD, settings_.password.c_str());
    }
    const CURLcode rc = curl_easy_perform(c.h);
    if (rc != CURLE_OK) return {false, smtp_failure(c, rc), connection_level(rc)};
    return {true, {}, false};
  }

 private:
  EmailSettings settings_;
};

}  // namespace

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string mime_text(const EmailSettings& settings, const OutgoingEmail& email,
                      std::chrono::system_clock::time_point now) {
  mime::Message m;
  m.from = settings.from;
  m.to = email.to;
  m.subject = email.subject;
  m.text = email.text;
  m.html = email.html;
  const auto at = settings.from.address.rfind('@');
  m.message_id = email.delivery_id + "@" + settings.from.address.substr(at + 1);
  m.date = now;
  m.extra_headers = {{"Auto-Submitted", "auto-generated"}, {"X-Bazaar-Delivery", email.delivery_id}};
  return mime::build(m, "=_bazaar_" + platform::security::random_token(18));
}

std::unique_ptr<EmailTransport> make_email_transport(const EmailSettings& settings) {
  init_curl_once();
  if (settings.transport == "smtp") return std::make_unique<SmtpTransport>(settings);
  return std::make_unique<FileTransport>(settings);
}

std::string webhook_signature(const std::string& secret, std::int64_t unix_time, const std::string& body) {
  const std::string t = std::to_string(unix_time);
  return "t=" + t + ",v1=" + platform::security::hmac_sha256_hex(secret, t + "." + body);
}

SendResult post_webhook(const WebhookPost& post, const std::string& secret, std::chrono::milliseconds timeout) {
  init_curl_once();
  CurlHandle c;
  if (!c.h) return {false, "webhook: could not create a libcurl handle", false};
  common_options(c, post.url, timeout);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string headers[] = {
      "Content-Type: application/json",
      "Bazaar-Signature: " + webhook_signature(secret, now, post.body),
      "Bazaar-Event-Id: " + post.event_id,
      "Bazaar-Event-Type: " + post.event_type,
      "User-Agent: bazaar-webhooks/1",
      "Expect:",  // no 100-continue round trip
  };
  for (const auto& h : headers) c.list = curl_slist_append(c.list, h.c_str());
  curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.list);
  curl_easy_setopt(c.h, CURLOPT_POST, 1L);
  curl_easy_setopt(c.h, CURLOPT_POSTFIELDS, post.body.c_str());
  curl_easy_setopt(c.h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(c.h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c.h, CURLOPT_PROTOCOLS_STR, "http,https");
  // The receiver's answer is not used: read and drop it.
  auto discard = +[](char*, std::size_t size, std::size_t n, void*) -> std::size_t { return size * n; };
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, discard);
  const CURLcode rc = curl_easy_perform(c.h);
  if (rc != CURLE_OK) return {false, curl_failure(c, rc, "webhook"), connection_level(rc)};
  long status = 0;
  curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return {false, fmt::format("webhook: {} answered HTTP {}", post.url, status), status >= 500 || status == 429};
  }
  return {true, {}, false};
}

}  // namespace bazaar::notifications
