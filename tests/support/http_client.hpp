#pragma once
// A small blocking HTTP(S) client for integration tests: one connection per request unless a Connection
// is kept, so tests can also exercise keep-alive, raw bytes and slow clients.
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::testing {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string> header(std::string_view name) const;
  boost::json::value json() const;  // throws on invalid JSON (the test fails loudly)
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer;  // adds Authorization: Bearer …
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, bool tls = false) : port_(port), tls_(tls) {}
  HttpResponse send(const HttpRequest& rq) const;
  HttpResponse get(const std::string& target, const std::string& bearer = {}) const;
  HttpResponse post_json(const std::string& target, const boost::json::value& body, const std::string& bearer = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) const;
  HttpResponse patch_json(const std::string& target, const boost::json::value& body, const std::string& bearer = {}) const;
  HttpResponse del(const std::string& target, const std::string& bearer = {}) const;

 private:
  std::uint16_t port_;
  bool tls_;
};

// Sends raw bytes on a fresh TCP connection and returns everything the server sends until it closes
// the connection or `timeout_ms` passes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes, int timeout_ms = 3000);

}  // namespace bazaar::testing
