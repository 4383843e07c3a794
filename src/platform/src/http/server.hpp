#pragma once
// The HTTP(S) server: listeners, connections, limits and graceful shutdown. Beast stays behind this
// interface, in server.cpp.
#include <platform/config.hpp>
#include <platform/http.hpp>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::platform {

class Metrics;

struct ListenerSpec {
  std::string name;  // "http", "https", "admin"
  ListenAddress address;
  bool tls = false;
  bool admin = false;
};

struct ServerOptions {
  std::vector<ListenerSpec> listeners;
  std::string cert_file;
  std::string key_file;
  std::size_t body_limit = 1 << 20;
  std::size_t upload_limit = 10 << 20;  // bodies with an image/* Content-Type
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{10000};  // first byte → whole request
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait for the next request
  std::size_t max_connections = 10000;
  std::size_t max_in_flight = 4096;
  bool trust_forwarded_for = false;
};

using RequestHandler = std::function<boost::asio::awaitable<http::Reply>(http::Request&)>;

class Server {
 public:
  // Listeners accept on `io`; connections are spread over `workers` (each run by exactly one thread, so a
  // connection's coroutine and anything posted to it never run concurrently — no strand needed).
  Server(boost::asio::io_context& io, std::vector<boost::asio::io_context*> workers, ServerOptions options,
         RequestHandler handler, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener and starts accepting. Throws std::runtime_error naming the listener on failure.
  void start();
  // The bound port of a listener by name (useful with port 0), 0 if there is none.
  std::uint16_t port(std::string_view listener) const;
  // Stops accepting, lets in-flight requests finish within `grace`, then closes every connection.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds grace);

  std::size_t open_connections() const;
  std::size_t in_flight() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace bazaar::platform
