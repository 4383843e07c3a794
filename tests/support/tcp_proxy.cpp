#include "support/tcp_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bazaar::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
}

struct TcpProxy::Impl : std::enable_shared_from_this<TcpProxy::Impl> {
  struct Link {
    explicit Link(tcp::socket c) : client(std::move(c)), server(client.get_executor()) {}
    tcp::socket client;
    tcp::socket server;
    bool client_spoke_last = false;  // the client sent bytes the server has not answered yet
    void close() {
      boost::system::error_code ignored;
      client.close(ignored);
      server.close(ignored);
    }
  };

  // Declared first: destroyed last, after every socket bound to it.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::endpoint upstream;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::unique_ptr<tcp::acceptor>> retired;  // closed acceptors whose loops may still unwind
  std::uint16_t port = 0;
  std::uint64_t generation = 0;
  std::set<std::shared_ptr<Link>> links;  // touched only on the proxy's thread
  std::uint64_t round_trips = 0;          // likewise
  std::thread thread;

  // Runs f on the proxy's thread and waits for it.
  template <class F>
  void on_io(F f) {
    std::promise<void> done;
    asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void listen() {  // proxy thread
    acceptor = std::make_unique<tcp::acceptor>(io);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen();
    port = acceptor->local_endpoint().port();
    asio::co_spawn(io, accept_loop(shared_from_this(), acceptor.get(), ++generation), asio::detached);
  }

  void close_all() {  // proxy thread
    ++generation;
    if (acceptor) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
      retired.push_back(std::move(acceptor));
    }
    for (const auto& link : links) link->close();
    links.clear();
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self, tcp::acceptor* acceptor, std::uint64_t gen) {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(kTuple);
      if (gen != self->generation) {  // paused meanwhile: refuse
        boost::system::error_code ignored;
        socket.close(ignored);
        co_return;
      }
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      auto link = std::make_shared<Link>(std::move(socket));
      self->links.insert(link);
      asio::co_spawn(self->io, serve(self, link), asio::detached);
    }
  }

  static asio::awaitable<void> serve(std::shared_ptr<Impl> self, std::shared_ptr<Link> link) {
    auto [ec] = co_await link->server.async_connect(self->upstream, kTuple);
    if (ec) {
      link->close();
      self->links.erase(link);
      co_return;
    }
    asio::co_spawn(self->io, pump(self, link, link->client, link->server, true), asio::detached);
    asio::co_spawn(self->io, pump(self, link, link->server, link->client, false), asio::detached);
  }

  // Counts a round trip when the client starts a new flight; the server's answer ends the flight.
  void note_flight(Link& link, bool from_client) {
    if (from_client && !link.client_spoke_last) ++round_trips;
    link.client_spoke_last = from_client;
  }

  static asio::awaitable<void> pump(std::shared_ptr<Impl> self, std::shared_ptr<Link> link, tcp::socket& from,
                                    tcp::socket& to, bool from_client) {
    std::array<char, 16384> data;
    for (;;) {
      auto [rec, n] = co_await from.async_read_some(asio::buffer(data), kTuple);
      if (rec) break;
      self->note_flight(*link, from_client);
      auto [wec, m] = co_await asio::async_write(to, asio::buffer(data.data(), n), kTuple);
      if (wec) break;
    }
    link->close();  // one direction ended: end the other too, as a real peer would see it
    self->links.erase(link);
  }
};

TcpProxy::TcpProxy(std::string upstream_host, std::uint16_t upstream_port) : impl_(std::make_shared<Impl>()) {
  tcp::resolver resolver(impl_->io);
  auto results = resolver.resolve(upstream_host, std::to_string(upstream_port));
  if (results.empty()) throw std::runtime_error("tcp proxy: cannot resolve " + upstream_host);
  impl_->upstream = *results.begin();
  impl_->listen();  // the thread does not run yet: safe to call here
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

TcpProxy::~TcpProxy() {
  impl_->on_io([this] { impl_->close_all(); });
  // Every socket is closed, so every coroutine ends and run() returns: nothing is left holding the Impl.
  impl_->work.reset();
  impl_->thread.join();
}

std::uint16_t TcpProxy::port() const { return impl_->port; }

void TcpProxy::pause() {
  impl_->on_io([this] { impl_->close_all(); });
}

void TcpProxy::resume() {
  impl_->on_io([this] {
    if (!impl_->acceptor) impl_->listen();
  });
}

std::size_t TcpProxy::connections() const {
  std::size_t n = 0;
  impl_->on_io([&] { n = impl_->links.size(); });
  return n;
}

std::uint64_t TcpProxy::round_trips() const {
  std::uint64_t n = 0;
  impl_->on_io([&] { n = impl_->round_trips; });
  return n;
}

void TcpProxy::reset_round_trips() {
  impl_->on_io([this] { impl_->round_trips = 0; });
}

HostPort host_port_of(const std::string& url, std::uint16_t default_port) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("not a URL: " + url);
  auto start = scheme_end + 3;
  const auto end = url.find_first_of("/?", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  HostPort out;
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos || authority.back() == ']') {
    out.host = authority;
    out.port = default_port;
  } else {
    out.host = authority.substr(0, colon);
    unsigned port = 0;
    const auto digits = std::string_view(authority).substr(colon + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || port > 65535) throw std::invalid_argument("bad port in URL: " + url);
    out.port = static_cast<std::uint16_t>(port);
  }
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  return out;
}

std::string with_host_port(const std::string& url, const std::string& host, std::uint16_t port) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("not a URL: " + url);
  const auto start = scheme_end + 3;
  const auto end = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  const auto at = authority.rfind('@');
  const std::string userinfo = at == std::string::npos ? "" : authority.substr(0, at + 1);
  return url.substr(0, start) + userinfo + host + ":" + std::to_string(port) +
         (end == std::string::npos ? "" : url.substr(end));
}

}  // namespace bazaar::testing
