// The only translation unit with Beast's I/O templates (STYLE.md §3, §9). Follows the shape of Beast's
// awaitable server examples: one coroutine per connection on its own strand, parser with limits,
// tcp_stream deadlines, cancellation for shutdown.
#include "server.hpp"

#include "request_id.hpp"

#include <platform/log.hpp>
#include <platform/metrics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fmt/format.h>

#include <mutex>
#include <unordered_map>

namespace bazaar::platform {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Mozilla "intermediate" (TLS 1.2 ciphers; TLS 1.3 suites are OpenSSL's defaults).
constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

asio::ssl::context make_tls_context(const std::string& cert_file, const std::string& key_file) {
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                  asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx.native_handle(), kIntermediateCiphers);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) throw ConfigError(fmt::format("https.cert_file '{}' cannot be used: {}", cert_file, ec.message()));
  ctx.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw ConfigError(fmt::format("https.key_file '{}' cannot be used: {}", key_file, ec.message()));
  return ctx;
}

bool is_image_upload(const bhttp::request_parser<bhttp::string_body>& parser) {
  auto type = parser.get()[bhttp::field::content_type];
  return type.size() >= 6 && beast::iequals(type.substr(0, 6), "image/");
}

std::string client_ip_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

}  // namespace

// What shutdown needs to reach a connection: whether it is between requests, and how to close it.
// Touched only on the connection's strand.
struct ConnectionState {
  bool idle = true;
  bool alive = true;
  std::function<void()> close;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  struct Listener {
    ListenerSpec spec;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::uint16_t port = 0;
  };
  struct Registered {
    asio::any_io_executor executor;
    std::weak_ptr<ConnectionState> state;
  };

  asio::io_context& io;
  std::vector<asio::io_context*> workers;
  std::atomic<std::size_t> next_worker{0};
  ServerOptions options;
  RequestHandler handler;
  Metrics& metrics;
  std::optional<asio::ssl::context> tls;
  std::vector<Listener> listeners;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex registry_mutex;
  std::unordered_map<std::uint64_t, Registered> registry;
  std::uint64_t next_id = 1;
  Counter& refused_connections;
  Counter& overloaded_requests;

  Impl(asio::io_context& io_, std::vector<asio::io_context*> w, ServerOptions o, RequestHandler h, Metrics& m)
      : io(io_),
        workers(std::move(w)),
        options(std::move(o)),
        handler(std::move(h)),
        metrics(m),
        refused_connections(m.counter("bazaar_http_connections_refused_total", "Connections closed at max_connections")),
        overloaded_requests(m.counter("bazaar_http_overloaded_total", "Requests refused with 503 at max_in_flight")) {}

  void bind_all() {
    for (const auto& spec : options.listeners) {
      if (spec.tls && !tls) tls.emplace(make_tls_context(options.cert_file, options.key_file));
      Listener l{spec, std::make_unique<tcp::acceptor>(io), 0};
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(spec.address.host, ec);
      if (ec) throw ConfigError(fmt::format("{}.listen: '{}' is not an IP address", spec.name, spec.address.host));
      const tcp::endpoint endpoint(address, spec.address.port);
      l.acceptor->open(endpoint.protocol());
      l.acceptor->set_option(asio::socket_base::reuse_address(true));
      l.acceptor->bind(endpoint, ec);
      if (ec) {
        throw std::runtime_error(fmt::format("{}.listen: cannot bind {}:{}: {}", spec.name, spec.address.host,
                                             spec.address.port, ec.message()));
      }
      l.acceptor->listen(asio::socket_base::max_listen_connections);
      l.port = l.acceptor->local_endpoint().port();
      listeners.push_back(std::move(l));
    }
    for (auto& l : listeners) {
      asio::co_spawn(io, accept_loop(shared_from_this(), l), asio::detached);
      log::info("listening", {{"listener", l.spec.name},
                              {"address", fmt::format("{}:{}", l.spec.address.host, l.port)},
                              {"tls", l.spec.tls}});
    }
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self, Listener& l) {
    while (!self->stopping) {
      asio::io_context& target = *self->workers[self->next_worker++ % self->workers.size()];
      auto [ec, socket] = co_await l.acceptor->async_accept(target, kTuple);
      if (ec) {
        if (self->stopping || ec == asio::error::operation_aborted) co_return;
        log::warn("accept failed", {{"listener", l.spec.name}, {"error", ec.message()}});
        asio::steady_timer pause(self->io, std::chrono::milliseconds(50));  // e.g. EMFILE: don't spin
        co_await pause.async_wait(kTuple);
        continue;
      }
      if (self->connections.load() >= self->options.max_connections) {
        self->refused_connections.inc();
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, run_connection(self, std::move(socket), l.spec), asio::detached);
    }
  }

  std::uint64_t register_connection(asio::any_io_executor ex, const std::shared_ptr<ConnectionState>& state) {
    std::lock_guard lock(registry_mutex);
    const auto id = next_id++;
    registry.emplace(id, Registered{std::move(ex), state});
    return id;
  }
  void unregister_connection(std::uint64_t id) {
    std::lock_guard lock(registry_mutex);
    registry.erase(id);
  }

  // Closes connections on their own strands: idle ones only, or all of them.
  void close_connections(bool idle_only) {
    std::lock_guard lock(registry_mutex);
    for (auto& [id, r] : registry) {
      asio::post(r.executor, [weak = r.state, idle_only] {
        if (auto s = weak.lock(); s && s->alive && (!idle_only || s->idle) && s->close) s->close();
      });
    }
  }

  static asio::awaitable<void> run_connection(std::shared_ptr<Impl> self, tcp::socket socket, ListenerSpec spec) {
    ++self->connections;
    auto state = std::make_shared<ConnectionState>();
    const auto id = self->register_connection(socket.get_executor(), state);
    const std::string ip = client_ip_of(socket);
    try {
      if (spec.tls) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *self->tls);
        state->close = [&stream] { beast::get_lowest_layer(stream).close(); };
        beast::get_lowest_layer(stream).expires_after(self->options.read_timeout);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
        if (!ec) {
          co_await self->serve(stream, ip, spec, *state);
          beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
          co_await stream.async_shutdown(kTuple);
        }
        state->alive = false;
      } else {
        beast::tcp_stream stream(std::move(socket));
        state->close = [&stream] { stream.close(); };
        co_await self->serve(stream, ip, spec, *state);
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        state->alive = false;
      }
    } catch (const std::exception& e) {
      state->alive = false;
      log::error("connection failed", {{"error", e.what()}});
    }
    self->unregister_connection(id);
    --self->connections;
  }

  // An answer before the request could be parsed (400, 413): the connection is closed after it.
  template <class Stream>
  asio::awaitable<void> write_error(Stream& stream, int version, const Error& error) {
    http::Request rq;
    rq.request_id = http::generate_request_id();
    http::Reply reply = http::problem(error, rq);
    reply.headers.set("X-Request-Id", rq.request_id);
    reply.headers.set("Connection", "close");
    co_await write_reply(stream, version, false, false, reply);
  }

  template <class Stream>
  asio::awaitable<bool> write_reply(Stream& stream, unsigned version, bool keep_alive, bool head, const http::Reply& reply) {
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    const auto body = reply.body_view();
    if (head) {
      bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(reply.status), version};
      for (const auto& [k, v] : reply.headers.all()) res.set(k, v);
      res.keep_alive(keep_alive);
      res.content_length(body.size());
      auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple);
      co_return !ec;
    }
    bhttp::response<bhttp::span_body<const char>> res{static_cast<bhttp::status>(reply.status), version};
    for (const auto& [k, v] : reply.headers.all()) res.set(k, v);
    res.body() = boost::span<const char>(body.data(), body.size());
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple);
    co_return !ec;
  }

  http::Request to_request(bhttp::request<bhttp::string_body>&& req, const std::string& ip, const ListenerSpec& spec) {
    http::Request rq;
    rq.method_name = std::string(req.method_string());
    rq.method = http::method_from_string(rq.method_name);
    rq.target = std::string(req.target());
    const auto q = rq.target.find('?');
    rq.path = rq.target.substr(0, q);
    if (q != std::string::npos) rq.query = rq.target.substr(q + 1);
    for (const auto& field : req) rq.headers.add(std::string(field.name_string()), std::string(field.value()));
    rq.body = std::move(req.body());
    rq.client_ip = ip;
    if (options.trust_forwarded_for) {
      if (auto xff = rq.header("X-Forwarded-For")) {
        auto first = xff->substr(0, xff->find(','));
        while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
        while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
        if (!first.empty()) rq.client_ip = std::string(first);
      }
    }
    rq.secure = spec.tls;
    rq.admin_listener = spec.admin;
    return rq;
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& ip, const ListenerSpec& spec, ConnectionState& state) {
    beast::flat_buffer buffer;
    auto& lowest = beast::get_lowest_layer(stream);
    for (;;) {
      state.idle = true;
      if (stopping) co_return;
      if (buffer.size() == 0) {  // keep-alive: wait for the next request's first byte
        lowest.expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
        if (ec) co_return;
        buffer.commit(n);
      }
      state.idle = false;

      // From the first byte on, the whole request must arrive within read_timeout (slowloris).
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.upload_limit);
      lowest.expires_after(options.read_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
      if (hec) {
        if (hec == bhttp::error::header_limit) {
          co_await write_error(stream, 11, Error::make(Errc::payload_too_large, "headers_too_large",
                                                       "The request headers are too large."));
        } else if (hec == bhttp::error::body_limit) {
          // The parser compares a Content-Length with its body limit (the larger upload limit) while it
          // reads the header already.
          co_await write_error(stream, 11, Error::make(Errc::payload_too_large, "payload_too_large",
                                                       fmt::format("The body exceeds {} bytes.",
                                                                   is_image_upload(parser) ? options.upload_limit
                                                                                           : options.body_limit)));
        } else if (hec != beast::error::timeout && hec != bhttp::error::end_of_stream &&
                   hec != asio::error::eof && hec != asio::error::operation_aborted) {
          co_await write_error(stream, 11, Error::bad_request("The request is not valid HTTP/1.1."));
        }
        co_return;
      }
      const unsigned version = parser.get().version();
      const std::size_t limit = is_image_upload(parser) ? options.upload_limit : options.body_limit;
      parser.body_limit(limit);
      if (parser.content_length() && *parser.content_length() > limit) {
        co_await write_error(stream, version, Error::make(Errc::payload_too_large, "payload_too_large",
                                                          fmt::format("The body exceeds {} bytes.", limit)));
        co_return;
      }
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
        auto [cec, cn] = co_await bhttp::async_write(stream, cont, kTuple);
        if (cec) co_return;
      }
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          co_await write_error(stream, version, Error::make(Errc::payload_too_large, "payload_too_large",
                                                            fmt::format("The body exceeds {} bytes.", limit)));
        } else if (bec != beast::error::timeout && bec != asio::error::eof) {
          co_await write_error(stream, version, Error::bad_request("The request body could not be read."));
        }
        co_return;
      }

      const bool head = parser.get().method() == bhttp::verb::head;
      bool keep_alive = parser.get().keep_alive();
      http::Request rq = to_request(parser.release(), ip, spec);
      bool written = false;
      {
        // In flight until the reply is written, so that a graceful shutdown waits for the reply too.
        InFlight guard(in_flight);
        http::Reply reply = co_await handle(rq);
        keep_alive = keep_alive && !stopping;
        written = co_await write_reply(stream, version, keep_alive, head, reply);
      }
      if (!written || !keep_alive) co_return;
    }
  }

  struct InFlight {
    std::atomic<std::size_t>& n;
    explicit InFlight(std::atomic<std::size_t>& c) : n(c) { ++n; }
    ~InFlight() { --n; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
  };

  asio::awaitable<http::Reply> handle(http::Request& rq) {
    if (in_flight.load() > options.max_in_flight) {
      overloaded_requests.inc();
      rq.request_id = http::request_id_for(rq);
      http::Reply reply = http::problem(Error::unavailable("The server is overloaded; try again shortly.", 1), rq);
      reply.headers.set("X-Request-Id", rq.request_id);
      co_return reply;
    }
    co_return co_await handler(rq);  // the pipeline catches everything a handler throws
  }
};

Server::Server(asio::io_context& io, std::vector<asio::io_context*> workers, ServerOptions options,
               RequestHandler handler, Metrics& metrics)
    : impl_(std::make_shared<Impl>(io, workers.empty() ? std::vector<asio::io_context*>{&io} : std::move(workers),
                                   std::move(options), std::move(handler), metrics)) {
  Impl* impl = impl_.get();
  metrics.gauge_fn("bazaar_http_open_connections", "Open client connections",
                   [impl] { return static_cast<double>(impl->connections.load()); });
  metrics.gauge_fn("bazaar_http_in_flight_requests", "Requests being handled",
                   [impl] { return static_cast<double>(impl->in_flight.load()); });
}

Server::~Server() = default;

void Server::start() { impl_->bind_all(); }

std::uint16_t Server::port(std::string_view listener) const {
  for (const auto& l : impl_->listeners) {
    if (l.spec.name == listener) return l.port;
  }
  return 0;
}

std::size_t Server::open_connections() const { return impl_->connections.load(); }
std::size_t Server::in_flight() const { return impl_->in_flight.load(); }

asio::awaitable<void> Server::shutdown(std::chrono::milliseconds grace) {
  auto self = impl_;
  self->stopping = true;
  for (auto& l : self->listeners) {
    boost::system::error_code ignored;
    l.acceptor->close(ignored);
  }
  self->close_connections(/*idle_only=*/true);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (self->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kTuple);
  }
  self->close_connections(/*idle_only=*/false);
  while (self->connections.load() > 0 && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(1)) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kTuple);
  }
}

}  // namespace bazaar::platform
