// Test-only Beast client (tests/support may use Beast: it is not a module).
#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>

#include <poll.h>

namespace bazaar::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return std::nullopt;
}

boost::json::value HttpResponse::json() const { return boost::json::parse(body); }

namespace {

template <class Stream>
HttpResponse exchange(Stream& stream, const HttpRequest& rq) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(rq.method), rq.target, 11};
  if (req.method() == bhttp::verb::unknown) req.method_string(rq.method);
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : rq.headers) req.set(k, v);
  if (!rq.bearer.empty()) req.set(bhttp::field::authorization, "Bearer " + rq.bearer);
  req.body() = rq.body;
  req.prepare_payload();
  req.keep_alive(false);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  if (rq.method == "HEAD") parser.skip(true);
  bhttp::read(stream, buffer, parser);
  auto res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  return out;
}

}  // namespace

HttpResponse HttpClient::send(const HttpRequest& rq) const {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  if (!tls_) return exchange(socket, rq);
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // the test server's certificate is self-signed
  beast::ssl_stream<tcp::socket&> stream(socket, ctx);
  stream.handshake(asio::ssl::stream_base::client);
  return exchange(stream, rq);
}

HttpResponse HttpClient::get(const std::string& target, const std::string& bearer) const {
  return send(HttpRequest{"GET", target, {}, {}, bearer});
}

HttpResponse HttpClient::post_json(const std::string& target, const boost::json::value& body, const std::string& bearer,
                                   std::vector<std::pair<std::string, std::string>> headers) const {
  headers.emplace_back("Content-Type", "application/json");
  return send(HttpRequest{"POST", target, boost::json::serialize(body), std::move(headers), bearer});
}

HttpResponse HttpClient::patch_json(const std::string& target, const boost::json::value& body,
                                    const std::string& bearer) const {
  return send(HttpRequest{"PATCH", target, boost::json::serialize(body), {{"Content-Type", "application/json"}}, bearer});
}

HttpResponse HttpClient::del(const std::string& target, const std::string& bearer) const {
  return send(HttpRequest{"DELETE", target, {}, {}, bearer});
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes, int timeout_ms) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(socket, asio::buffer(bytes));
  std::string received;
  char chunk[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  socket.non_blocking(true);
  while (std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    const auto n = socket.read_some(asio::buffer(chunk), ec);
    if (ec == asio::error::would_block) {
      ::pollfd pfd{socket.native_handle(), POLLIN, 0};
      ::poll(&pfd, 1, 20);  // wait for readiness, not a sleep: returns as soon as bytes arrive
      continue;
    }
    if (ec) break;  // closed by the server
    received.append(chunk, n);
  }
  return received;
}

}  // namespace bazaar::testing
