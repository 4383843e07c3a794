// The only translation unit with Beast's I/O templates (STYLE.md §3, §9). Follows the shape of Beast's
// awaitable server examples: one coroutine per connection on its own I/O thread, a parser with limits,
// deadlines for every read and write (enforced by one watchdog timer per thread), cancellation for shutdown.
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
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
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

// Parses a request straight into http::Request. Beast's own message type would store every field as an
// allocation of its own, only for us to copy them once more; here names and values are copied once,
// into the request's single header buffer. basic_parser still enforces the header and body limits.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  explicit RequestParser(http::Request& rq) : rq_(rq) {}
  bool head() const { return verb_ == bhttp::verb::head; }
  unsigned version() const { return version_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view method_string, beast::string_view target, int version,
                       boost::system::error_code&) override {
    verb_ = method;
    version_ = static_cast<unsigned>(version);
    rq_.method_name.assign(method_string.data(), method_string.size());
    rq_.method = http::method_from_string(rq_.method_name);
    rq_.target.assign(target.data(), target.size());
    const auto q = rq_.target.find('?');
    rq_.path.assign(rq_.target, 0, q);
    if (q != std::string::npos) rq_.query.assign(rq_.target, q + 1);
    rq_.headers.reserve(512);
  }
  void on_response_impl(int, beast::string_view, int, boost::system::error_code&) override {}  // requests only
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     boost::system::error_code&) override {
    rq_.headers.add(std::string_view(name.data(), name.size()), std::string_view(value.data(), value.size()));
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::system::error_code&) override {
    if (length) rq_.body.reserve(static_cast<std::size_t>(*length));  // within the body limit, checked already
  }
  std::size_t on_body_impl(beast::string_view body, boost::system::error_code&) override {
    rq_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, boost::system::error_code&) override {
    rq_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(boost::system::error_code&) override {}

  http::Request& rq_;
  bhttp::verb verb_ = bhttp::verb::unknown;
  unsigned version_ = 11;
};

bool is_image_upload(const http::Request& rq) {
  auto type = rq.header("Content-Type");
  return type && type->size() >= 6 && beast::iequals(type->substr(0, 6), "image/");
}

bool is_framing_header(std::string_view name) {  // written by the server itself, from the reply's body
  switch (name.size()) {  // the length first: most headers are rejected without a comparison
    case 10: return beast::iequals(name, "Connection");
    case 14: return beast::iequals(name, "Content-Length");
    case 17: return beast::iequals(name, "Transfer-Encoding");
    default: return false;
  }
}

// A header line. CR and LF in a name or value become spaces, so no value can split the response.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  const auto at = out.size();
  out.append(name).append(": ").append(value);
  // A plain loop: find_first_of("\r\n") calls memchr once per character, a cost on every reply.
  const auto line = out.begin() + static_cast<std::ptrdiff_t>(at);
  const auto breaks_line = [](char c) { return c == '\r' || c == '\n'; };
  if (std::any_of(line, out.end(), breaks_line)) std::replace_if(line, out.end(), breaks_line, ' ');
  out.append("\r\n");
}

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), n).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

// Status line and headers of `reply`, into `out` (a connection reuses one string for all its replies).
void render_head(std::string& out, unsigned version, bool keep_alive, const http::Reply& reply) {
  out.clear();
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  append_number(out, static_cast<std::size_t>(reply.status));
  out.push_back(' ');
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status));
  out.append(reason.data(), reason.size()).append("\r\n");
  reply.headers.for_each([&](std::string_view name, std::string_view value) {
    if (!is_framing_header(name)) append_field(out, name, value);
  });
  const bool bodiless = reply.status < 200 || reply.status == 204 || reply.status == 304;
  if (!bodiless) {
    out.append("Content-Length: ");
    append_number(out, reply.body_view().size());
    out.append("\r\n");
  }
  if (!keep_alive && version >= 11) out.append("Connection: close\r\n");
  if (keep_alive && version < 11) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

std::string client_ip_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

}  // namespace

// What shutdown and the watchdog need to reach a connection: whether it is between requests, when its
// current read or write must be done, and how to close it. Touched only on the connection's thread.
struct ConnectionState {
  using Clock = std::chrono::steady_clock;
  bool idle = true;
  bool alive = true;
  bool timed_out = false;  // closed by the watchdog: end quietly, without an error response
  Clock::time_point deadline = Clock::time_point::max();
  std::size_t watch_slot = 0;  // index in the thread's Watchdog
  std::function<void()> close;

  void expires_after(std::chrono::milliseconds timeout) { deadline = Clock::now() + timeout; }
};

// Deadlines without a timer per I/O operation (what beast::tcp_stream does: a timer armed and cancelled
// around every read and write, each a handler of its own). Each connection notes when its current read or
// write must be done; one timer per I/O thread closes those past their deadline every `tick`, so a
// deadline is enforced at most one tick late. Used only on its own thread: no locks.
class Watchdog {
 public:
  void watch(ConnectionState& s) {
    s.watch_slot = watched_.size();
    watched_.push_back(&s);
  }
  void forget(ConnectionState& s) {
    watched_[s.watch_slot] = watched_.back();
    watched_[s.watch_slot]->watch_slot = s.watch_slot;
    watched_.pop_back();
  }
  static asio::awaitable<void> run(std::shared_ptr<Watchdog> self, std::chrono::milliseconds tick) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      timer.expires_after(tick);
      auto [ec] = co_await timer.async_wait(kTuple);
      if (ec) co_return;
      self->close_expired(ConnectionState::Clock::now());
    }
  }

 private:
  void close_expired(ConnectionState::Clock::time_point now) {
    for (std::size_t i = 0; i < watched_.size(); ++i) {
      ConnectionState& s = *watched_[i];
      if (s.alive && !s.timed_out && s.deadline <= now && s.close) {
        s.timed_out = true;
        s.close();  // the connection's pending operation fails; its coroutine ends and forgets itself later
      }
    }
  }

  std::vector<ConnectionState*> watched_;
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
  std::vector<std::shared_ptr<Watchdog>> watchdogs;  // one per worker, same index
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
    const auto tick = std::clamp(std::min(options.read_timeout, options.idle_timeout) / 4, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(1000));
    for (auto* worker : workers) {
      watchdogs.push_back(std::make_shared<Watchdog>());
      asio::co_spawn(*worker, Watchdog::run(watchdogs.back(), tick), asio::detached);
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
      const std::size_t worker = self->next_worker++ % self->workers.size();
      auto [ec, socket] = co_await l.acceptor->async_accept(*self->workers[worker], kTuple);
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
      asio::co_spawn(executor, run_connection(self, std::move(socket), l.spec, *self->watchdogs[worker]), asio::detached);
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

  static asio::awaitable<void> run_connection(std::shared_ptr<Impl> self, tcp::socket socket, ListenerSpec spec,
                                              Watchdog& watchdog) {
    ++self->connections;
    auto state = std::make_shared<ConnectionState>();
    const auto id = self->register_connection(socket.get_executor(), state);
    watchdog.watch(*state);
    const std::string ip = client_ip_of(socket);
    try {
      if (spec.tls) {
        beast::ssl_stream<tcp::socket> stream(std::move(socket), *self->tls);
        state->close = [&stream] { close_socket(beast::get_lowest_layer(stream)); };
        state->expires_after(self->options.read_timeout);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
        if (!ec) {
          co_await self->serve(stream, ip, spec, *state);
          state->expires_after(std::chrono::seconds(2));
          if (!state->timed_out) co_await stream.async_shutdown(kTuple);
        }
      } else {
        state->close = [&socket] { close_socket(socket); };
        co_await self->serve(socket, ip, spec, *state);
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
      }
    } catch (const std::exception& e) {
      log::error("connection failed", {{"error", e.what()}});
    }
    state->alive = false;
    watchdog.forget(*state);
    self->unregister_connection(id);
    --self->connections;
  }

  static void close_socket(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  // An answer before the request could be parsed (400, 413): the connection is closed after it.
  template <class Stream>
  asio::awaitable<void> write_error(Stream& stream, ConnectionState& state, unsigned version, const Error& error) {
    if (state.timed_out) co_return;  // the watchdog closed it: nobody to answer
    http::Request rq;
    rq.request_id = http::generate_request_id();
    http::Reply reply = http::problem(error, rq);
    reply.headers.set("X-Request-Id", rq.request_id);
    std::string head_buffer;
    co_await write_reply(stream, state, version, false, false, reply, head_buffer);
  }

  // Feeds the parser until it has the header (or, with `whole`, the whole message). What the buffer holds
  // is parsed first and the socket is read only when the parser needs more: a request that arrived in one
  // piece costs no further turn of the event loop (Beast's async_read would complete through a post).
  template <class Stream>
  static asio::awaitable<boost::system::error_code> read_request(Stream& stream, beast::flat_buffer& buffer,
                                                                 RequestParser& parser, bool whole) {
    parser.eager(whole);
    for (;;) {
      if (whole ? parser.is_done() : parser.is_header_done()) co_return boost::system::error_code();
      boost::system::error_code ec;
      if (buffer.size() > 0) {
        buffer.consume(parser.put(buffer.data(), ec));
        if (!ec) continue;
        if (ec != bhttp::error::need_more) co_return ec;
      }
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)), kTuple);
      buffer.commit(n);
      if (rec == asio::error::eof || rec == asio::ssl::error::stream_truncated) {
        if (!parser.got_some()) co_return bhttp::error::end_of_stream;
        parser.put_eof(ec);
        co_return ec ? ec : bhttp::error::partial_message;
      }
      if (rec) co_return rec;
    }
  }

  // The head and the body go out in one gathered write, without copying the body.
  template <class Stream>
  asio::awaitable<bool> write_reply(Stream& stream, ConnectionState& state, unsigned version, bool keep_alive, bool head,
                                    const http::Reply& reply, std::string& head_buffer) {
    state.expires_after(options.read_timeout);  // a client that does not read its answer is cut off too
    render_head(head_buffer, version, keep_alive, reply);
    const auto body = head ? std::string_view() : reply.body_view();
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_buffer), asio::buffer(body.data(), body.size())};
    auto [ec, n] = co_await asio::async_write(stream, buffers, kTuple);
    co_return !ec;
  }

  // What the parser cannot know: who sent the request, and on which listener.
  void complete_request(http::Request& rq, const std::string& ip, const ListenerSpec& spec) const {
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
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const std::string& ip, const ListenerSpec& spec, ConnectionState& state) {
    beast::flat_buffer buffer;
    std::string head_buffer;  // the replies' status lines and headers
    for (;;) {
      state.idle = true;
      if (stopping) co_return;
      if (buffer.size() == 0) {  // keep-alive: wait for the next request's first byte
        state.expires_after(options.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
        if (ec) co_return;
        buffer.commit(n);
      }
      state.idle = false;

      // From the first byte on, the whole request must arrive within read_timeout (slowloris).
      http::Request rq;
      RequestParser parser(rq);
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.upload_limit);
      state.expires_after(options.read_timeout);
      if (auto hec = co_await read_request(stream, buffer, parser, false)) {
        if (hec == bhttp::error::header_limit) {
          co_await write_error(stream, state, 11, Error::make(Errc::payload_too_large, "headers_too_large",
                                                              "The request headers are too large."));
        } else if (hec == bhttp::error::body_limit) {
          // The parser compares a Content-Length with its body limit (the larger upload limit) while it
          // reads the header already.
          co_await write_error(stream, state, 11, Error::make(Errc::payload_too_large, "payload_too_large",
                                                              fmt::format("The body exceeds {} bytes.",
                                                                          is_image_upload(rq) ? options.upload_limit
                                                                                              : options.body_limit)));
        } else if (hec != bhttp::error::end_of_stream && hec != bhttp::error::partial_message &&
                   hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
          co_await write_error(stream, state, 11, Error::bad_request("The request is not valid HTTP/1.1."));
        }
        co_return;
      }
      const unsigned version = parser.version();
      const std::size_t limit = is_image_upload(rq) ? options.upload_limit : options.body_limit;
      parser.body_limit(limit);
      if (parser.content_length() && *parser.content_length() > limit) {
        co_await write_error(stream, state, version, Error::make(Errc::payload_too_large, "payload_too_large",
                                                                 fmt::format("The body exceeds {} bytes.", limit)));
        co_return;
      }
      if (auto expect = rq.header("Expect"); expect && beast::iequals(*expect, "100-continue") && !parser.is_done()) {
        constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
        if (cec) co_return;
      }
      if (auto bec = co_await read_request(stream, buffer, parser, true)) {
        if (bec == bhttp::error::body_limit) {
          co_await write_error(stream, state, version, Error::make(Errc::payload_too_large, "payload_too_large",
                                                                   fmt::format("The body exceeds {} bytes.", limit)));
        } else if (bec != bhttp::error::partial_message && bec != bhttp::error::end_of_stream &&
                   bec != asio::error::operation_aborted && bec != asio::error::connection_reset) {
          co_await write_error(stream, state, version, Error::bad_request("The request body could not be read."));
        }
        co_return;
      }

      bool keep_alive = parser.keep_alive();
      complete_request(rq, ip, spec);
      bool written = false;
      {
        // In flight until the reply is written, so that a graceful shutdown waits for the reply too.
        InFlight guard(in_flight);
        http::Reply reply = co_await handle(rq);
        keep_alive = keep_alive && !stopping;
        written = co_await write_reply(stream, state, version, keep_alive, parser.head(), reply, head_buffer);
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

  // Not a coroutine: the handler's awaitable is returned as it is, without a frame of its own (the
  // pipeline catches everything a handler throws).
  asio::awaitable<http::Reply> handle(http::Request& rq) {
    if (in_flight.load() > options.max_in_flight) return overloaded(rq);
    return handler(rq);
  }

  asio::awaitable<http::Reply> overloaded(http::Request& rq) {
    overloaded_requests.inc();
    rq.request_id = http::request_id_for(rq);
    http::Reply reply = http::problem(Error::unavailable("The server is overloaded; try again shortly.", 1), rq);
    reply.headers.set("X-Request-Id", rq.request_id);
    co_return reply;
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
