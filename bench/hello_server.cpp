// Baseline "H" of scripts/bench.sh: the smallest reasonable Beast HTTP/1.1 server, to measure what HTTP
// costs on this machine. One io_context run by N threads, one C++20 coroutine per connection, keep-alive,
// every request answered with 200 {"status":"ok"}. No timeouts, no limits, no routing: only the baseline.
//
// usage: bazaar_bench_hello PORT THREADS   (listens on 127.0.0.1)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> session(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    auto [read_error, read_bytes] = co_await http::async_read(socket, buffer, request, use_tuple);
    if (read_error) break;  // end of stream or a broken connection

    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(request.keep_alive());
    response.body() = R"({"status":"ok"})";
    response.prepare_payload();
    auto [write_error, written] = co_await http::async_write(socket, response, use_tuple);
    if (write_error || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
  auto executor = acceptor.get_executor();
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(use_tuple);
    if (error) continue;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(executor, session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = std::max(1, std::atoi(argv[2]));

  asio::io_context io(threads);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});  // sets SO_REUSEADDR
  asio::co_spawn(io, listen(std::move(acceptor)), asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](auto, auto) { io.stop(); });

  std::vector<std::jthread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bazaar_bench_hello: %s\n", e.what());
  return 1;
}
