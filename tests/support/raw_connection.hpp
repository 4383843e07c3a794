#pragma once
// A raw TCP connection to the server under test, for what HttpClient cannot do: several requests on one
// keep-alive connection, pipelining, half-sent requests, and timing when the server closes the connection.
#include "support/http_client.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::testing {

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all bytes; false when the server has closed the connection (EPIPE/ECONNRESET).
  bool send(std::string_view bytes);
  // Reads until one whole response is parsed (bytes after it stay buffered for the next call); nullopt when
  // the connection closed or `timeout` passed first. `head`: the response to a HEAD request (no body).
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                            bool head = false);
  // Waits for the server to close the connection; true if it did within `timeout`. Bytes that arrive
  // meanwhile are appended to pending().
  bool wait_closed(std::chrono::milliseconds timeout);
  // Received bytes not consumed by read_response().
  const std::string& pending() const { return buffer_; }
  bool closed() const { return closed_; }
  void close();

 private:
  // Reads what is there (waiting at most until `deadline`); false on timeout or when closed.
  bool fill(std::chrono::steady_clock::time_point deadline);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string buffer_;
  bool closed_ = false;
};

// Splits a byte stream (e.g. from raw_exchange) into the complete responses it holds, in order.
std::vector<HttpResponse> parse_responses(std::string_view bytes);

// True when a fresh TCP connection to `port` on loopback is refused (nobody listens).
bool connection_refused(std::uint16_t port);

// A loopback port that nothing listens on right now (bound, then released).
std::uint16_t closed_port();

}  // namespace bazaar::testing
