#pragma once
// A tiny TCP proxy on 127.0.0.1:<ephemeral> that forwards to an upstream host:port (the test database), so a
// test can take a dependency away and bring it back: pause() closes every open connection and refuses new
// ones, resume() accepts again on the same port. It also counts round trips, which is how tests hold a
// request to its SQL round-trip budget. Runs on its own thread.
#include <cstdint>
#include <memory>
#include <string>

namespace bazaar::testing {

class TcpProxy {
 public:
  TcpProxy(std::string upstream_host, std::uint16_t upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const;
  // Closes every proxied connection and stops listening: new connections are refused. Returns once done.
  void pause();
  // Listens again on the same port.
  void resume();
  // Proxied connections currently open.
  std::size_t connections() const;
  // Round trips since construction or the last reset, summed over connections: a round trip is a flight of
  // bytes from the client that follows the server's answer (or opens the connection). A PostgreSQL
  // statement is one; a pipelined batch of statements is one too, which is the point of pipelining.
  std::uint64_t round_trips() const;
  void reset_round_trips();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// host and port of a "scheme://[user[:password]@]host:port/..." URL (the test database's, Redis's).
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
HostPort host_port_of(const std::string& url, std::uint16_t default_port);
// The same URL with its host:port replaced.
std::string with_host_port(const std::string& url, const std::string& host, std::uint16_t port);

}  // namespace bazaar::testing
