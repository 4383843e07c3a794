// Test-only raw TCP client (tests/support may use Beast: it is not a module).
#include "support/raw_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

#include <poll.h>

namespace bazaar::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Parses one response from the start of `bytes`; nullopt when they do not hold a whole one yet.
std::optional<HttpResponse> parse_prefix(std::string_view bytes, bool head, std::size_t& consumed) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.header_limit(1 << 20);
  parser.body_limit(64 << 20);
  if (head) parser.skip(true);
  std::size_t used = 0;
  while (!parser.is_done()) {
    boost::system::error_code ec;
    const auto n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      if (n == 0 || used == bytes.size()) return std::nullopt;
      continue;
    }
    if (ec) throw std::runtime_error("the server sent an unparseable response: " + ec.message());
    if (n == 0 && !parser.is_done()) return std::nullopt;
  }
  consumed = used;
  auto res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  return out;
}

}  // namespace

struct RawConnection::Impl {
  asio::io_context io;
  tcp::socket socket{io};
};

RawConnection::RawConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  impl_->socket.set_option(tcp::no_delay(true));
  impl_->socket.non_blocking(true);
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
  closed_ = true;
}

bool RawConnection::send(std::string_view bytes) {
  if (closed_) return false;
  std::size_t sent = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (sent < bytes.size()) {
    boost::system::error_code ec;
    sent += impl_->socket.write_some(asio::buffer(bytes.data() + sent, bytes.size() - sent), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      if (Clock::now() > deadline) return false;
      ::pollfd pfd{impl_->socket.native_handle(), POLLOUT, 0};
      ::poll(&pfd, 1, 20);
      continue;
    }
    if (ec) return false;
  }
  return true;
}

bool RawConnection::fill(Clock::time_point deadline) {
  if (closed_) return false;
  char chunk[8192];
  for (;;) {
    boost::system::error_code ec;
    const auto n = impl_->socket.read_some(asio::buffer(chunk), ec);
    if (!ec) {
      buffer_.append(chunk, n);
      return true;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      closed_ = true;  // EOF or reset: the server closed the connection
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    // Waits for readiness, not a sleep: returns as soon as bytes (or the close) arrive.
    ::pollfd pfd{impl_->socket.native_handle(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 50)));
  }
}

std::optional<HttpResponse> RawConnection::read_response(std::chrono::milliseconds timeout, bool head) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t consumed = 0;
    if (auto r = parse_prefix(buffer_, head, consumed)) {
      buffer_.erase(0, consumed);
      return r;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!fill(deadline) && !closed_) return false;
  }
  return true;
}

std::vector<HttpResponse> parse_responses(std::string_view bytes) {
  std::vector<HttpResponse> out;
  for (;;) {
    std::size_t consumed = 0;
    auto r = parse_prefix(bytes, false, consumed);
    if (!r) break;
    out.push_back(std::move(*r));
    bytes.remove_prefix(consumed);
  }
  return out;
}

bool connection_refused(std::uint16_t port) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return ec == asio::error::connection_refused;
}

std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace bazaar::testing
