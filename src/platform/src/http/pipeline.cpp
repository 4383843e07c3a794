#include "pipeline.hpp"
#include "request_id.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>

#include <fmt/format.h>

#include <chrono>
#include <random>
#include <unordered_map>

namespace bazaar::platform::http {

namespace {
bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  }
  return true;
}
}  // namespace

std::string generate_request_id() {
  // Not a secret, only unique: a per-thread PRNG seeded from the OS is plenty and costs nanoseconds.
  // 15 hex digits (60 bits) fit in std::string's inline buffer: no allocation per request.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id(15, '0');
  for (auto bits = rng(); char& c : id) {
    c = kHex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

std::string request_id_for(const Request& rq) {
  auto client_id = rq.header("X-Request-Id");
  return client_id && sane_request_id(*client_id) ? std::string(*client_id) : generate_request_id();
}

}  // namespace bazaar::platform::http

namespace bazaar::platform {

using http::Next;
using http::Reply;
using http::Request;

namespace {

void add_security_headers(Reply& reply) {
  reply.headers.set("X-Content-Type-Options", "nosniff");
  reply.headers.set("X-Frame-Options", "DENY");
  reply.headers.set("Referrer-Policy", "no-referrer");
  if (!reply.headers.get("Cache-Control")) reply.headers.set("Cache-Control", "no-store");
}

std::string allow_header(const std::vector<http::Method>& methods) {
  std::string out;
  bool has_get = false;
  for (auto m : methods) {
    if (!out.empty()) out += ", ";
    out += http::to_string(m);
    has_get = has_get || m == http::Method::get;
  }
  if (has_get) out += ", HEAD";
  out += ", OPTIONS";
  return out;
}

bool is_admin_path(std::string_view path) {
  return path.rfind("/admin/", 0) == 0 || path == "/admin" || path == "/metrics";
}

// The reply to a request the server cannot serve as asked: an exception from any step, mapped to a problem.
Reply problem_for_exception(const Request& rq, std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const ErrorException& e) {
    if (e.error().code == Errc::internal || e.error().code == Errc::unavailable) {
      log::warn("request failed", {{"request_id", rq.request_id}, {"error", e.what()}});
    }
    return http::problem(e.error(), rq);
  } catch (const std::exception& e) {
    const auto state = sqlstate_of(e);
    if (state.rfind("22", 0) == 0) {  // data exception: PostgreSQL could not take a value the client sent
      log::info("data exception", {{"request_id", rq.request_id}, {"sqlstate", state}, {"error", e.what()}});
      return http::problem(
          Error::validation(std::vector<FieldError>{}, "A value in the request is malformed or out of range."), rq);
    }
    if (state == "23505") {  // a unique key the handler did not expect to clash (a race)
      return http::problem(Error::conflict("conflict", "The request conflicts with the current state."), rq);
    }
    // A bug or an infrastructure failure: details to the log, never to the client.
    log::error("unhandled exception", {{"request_id", rq.request_id}, {"route", rq.route}, {"error", e.what()}});
    return http::problem(Error::internal_error(e.what()), rq);
  }
}

void log_request(const Request& rq, const Reply& reply, double seconds) {
  boost::json::object line{{"request_id", rq.request_id},
                           {"method", rq.method_name},
                           {"route", rq.route.empty() ? std::string_view(rq.path) : rq.route},
                           {"status", reply.status},
                           {"duration_us", static_cast<std::int64_t>(seconds * 1e6)},
                           {"client_ip", rq.client_ip}};
  if (rq.principal) line["user_id"] = rq.principal->user_id;
  if (auto tp = rq.header("traceparent")) line["traceparent"] = *tp;
  log::info("request", std::move(line));
}

bool cors_allowed(const std::vector<std::string>& origins, const Request& rq) {
  auto origin = rq.header("Origin");
  return origin && std::any_of(origins.begin(), origins.end(), [&](const std::string& o) { return o == "*" || o == *origin; });
}

Reply cors_preflight(std::string_view origin) {
  Reply preflight = http::no_content();
  preflight.headers.set("Access-Control-Allow-Origin", std::string(origin));
  preflight.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  preflight.headers.set("Access-Control-Allow-Headers",
                        "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent");
  preflight.headers.set("Access-Control-Max-Age", "600");
  preflight.headers.set("Vary", "Origin");
  return preflight;
}

void add_cors_headers(std::string_view origin, Reply& reply) {
  reply.headers.set("Access-Control-Allow-Origin", std::string(origin));
  reply.headers.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Idempotent-Replayed");
  reply.headers.set("Vary", "Origin");
}

bool is_ops_path(std::string_view path) { return path == "/healthz" || path == "/readyz"; }

// An Ed25519 verification costs ~50 µs of CPU; a client sends the same token for its whole lifetime. Each
// I/O thread remembers the principals of tokens it verified (exact token text → principal and expiry),
// re-checking only the expiry on a hit, and looks them up without copying the token. Bounded: the map is
// dropped when full. Tokens are never cached when invalid.
Result<std::shared_ptr<const http::Principal>> principal_for(const security::JwtService& jwt, std::string_view token) {
  constexpr std::size_t kMaxEntries = 4096;
  struct Verified {
    std::shared_ptr<const http::Principal> principal;
    std::int64_t expires;  // unix seconds, leeway included
  };
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Cache {
    const security::JwtService* owner = nullptr;
    std::unordered_map<std::string, Verified, TokenHash, std::equal_to<>> entries;
  };
  thread_local Cache cache;
  if (cache.owner != &jwt) {  // another platform instance (tests): never share verified claims
    cache.entries.clear();
    cache.owner = &jwt;
  }
  const auto now = std::chrono::system_clock::now();
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (auto it = cache.entries.find(token); it != cache.entries.end()) {
    if (it->second.expires > now_s) return it->second.principal;
    cache.entries.erase(it);
  }
  auto claims = jwt.verify(token, now);
  if (!claims) return claims.error();
  auto principal = std::make_shared<const http::Principal>(http::Principal{claims->sub, claims->role, claims->jti});
  if (cache.entries.size() >= kMaxEntries) cache.entries.clear();
  cache.entries.emplace(std::string(token), Verified{principal, claims->exp + jwt.settings().leeway.count()});
  return principal;
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, PipelineDeps deps) : options_(std::move(options)), deps_(deps) {}

// The steps, in order: request id → CORS preflight → per-IP rate limit → routing (404/405/OPTIONS, admin
// listener split) → authentication → principal checks → authorization → idempotency → the route's handler;
// then the reply's common headers, metrics and the access log, with any exception turned into a problem.
// One coroutine for all of it, with plain functions for the steps that never wait: every coroutine frame
// is an allocation, GCC gives each local and temporary of a coroutine a place in its frame, and this runs
// for every request.
boost::asio::awaitable<Reply> Pipeline::operator()(Request& rq) const {
  const auto started = std::chrono::steady_clock::now();
  rq.request_id = http::request_id_for(rq);
  const bool cors = cors_allowed(options_.cors_origins, rq);
  const bool preflight = cors && rq.method == http::Method::options && rq.header("Access-Control-Request-Method");
  std::optional<Reply> reply;
  std::exception_ptr failure;
  try {
    if (preflight) reply = cors_preflight(*rq.header("Origin"));
    if (!reply && rate_limited(rq)) co_await limit_rate(rq, reply);
    if (!reply) admit(rq, reply);
    for (std::size_t i = 0; !reply && rq.principal && i < deps_.principal_checks.size(); ++i) {
      auto ok = co_await deps_.principal_checks[i](*rq.principal);
      if (!ok) reply = http::problem(ok.error(), rq);
    }
    if (!reply) reply = authorize(rq);
    if (!reply) reply = co_await handle_admitted(rq);
  } catch (...) {
    failure = std::current_exception();
  }
  finish(rq, reply, failure, cors && !preflight, started);  // errors carry CORS headers too: browsers read them
  co_return std::move(*reply);
}

bool Pipeline::rate_limited(const Request& rq) const {
  return options_.rate_limit_enabled && !is_ops_path(rq.path) && rq.path != "/metrics";
}

boost::asio::awaitable<void> Pipeline::limit_rate(const Request& rq, std::optional<Reply>& refusal) const {
  auto decision = co_await deps_.rate_limiter.hit("ip:" + rq.client_ip, options_.per_ip_per_minute, std::chrono::seconds(60));
  if (!decision.allowed) refusal = http::problem(Error::rate_limited(decision.retry_after_seconds), rq);
}

void Pipeline::admit(Request& rq, std::optional<Reply>& refusal) const {
  refusal = route(rq);
  if (!refusal) refusal = authenticate(rq);
}

// Not a coroutine: the handler's awaitable is returned as it is, without a frame of its own.
boost::asio::awaitable<Reply> Pipeline::handle_admitted(Request& rq) const {
  if (deps_.idempotency.applies(rq)) {
    static const http::Next handler = [](Request& r) { return r.matched_route->handler(r); };
    return deps_.idempotency.handle(rq, handler);
  }
  return rq.matched_route->handler(rq);
}

void Pipeline::finish(const Request& rq, std::optional<Reply>& reply, std::exception_ptr failure, bool cors_headers,
                      std::chrono::steady_clock::time_point started) const {
  if (failure) reply = problem_for_exception(rq, failure);
  if (cors_headers) add_cors_headers(*rq.header("Origin"), *reply);
  reply->headers.set("X-Request-Id", rq.request_id);
  add_security_headers(*reply);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (rq.matched_route) {
    deps_.metrics.observe_route(rq.matched_route, rq.method_name, rq.route, reply->status, seconds);
  } else {
    deps_.metrics.observe_request(rq.method_name, rq.route, reply->status, seconds);
  }
  if (log::enabled(log::Level::info)) log_request(rq, *reply, seconds);
}

// Matches the route, or answers 404/405/OPTIONS (and keeps /admin on the admin listener when separate).
std::optional<Reply> Pipeline::route(Request& rq) const {
  if (options_.separate_admin_listener && rq.admin_listener != is_admin_path(rq.path) && !is_ops_path(rq.path)) {
    return http::problem(Error::not_found(), rq);
  }
  auto match = deps_.router.match(rq.method, rq.path);
  if (match.route) {
    rq.matched_route = match.route;
    rq.route = match.route->pattern;
    rq.params = std::move(match.params);
    return std::nullopt;
  }
  if (match.allowed.empty()) return http::problem(Error::not_found("There is no such route."), rq);
  Reply r = rq.method == http::Method::options
                ? http::no_content()
                : http::problem(Error::make(Errc::method_not_allowed, "method_not_allowed",
                                            fmt::format("{} is not allowed here.", rq.method_name)),
                                rq);
  r.headers.set("Allow", allow_header(match.allowed));
  return r;
}

// A bearer token, when sent, must be valid: sets the principal (the principal checks run next).
std::optional<Reply> Pipeline::authenticate(Request& rq) const {
  auto header = rq.header("Authorization");
  if (!header) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  if (header->size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), header->begin(),
                                                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return http::problem(Error::unauthorized("invalid_token", "Use 'Authorization: Bearer <access token>'."), rq);
  }
  if (!deps_.jwt) return http::problem(Error::unauthorized("invalid_token", "Tokens are not accepted here."), rq);
  auto principal = principal_for(*deps_.jwt, header->substr(kBearer.size()));
  if (!principal) return http::problem(principal.error(), rq);
  rq.principal = std::move(*principal);
  return std::nullopt;
}

std::optional<Reply> Pipeline::authorize(const Request& rq) const {
  const auto access = rq.matched_route->access;
  if (access != http::Access::public_route && !rq.principal) {
    return http::problem(Error::unauthorized("unauthorized", "Authentication is required."), rq);
  }
  if (access == http::Access::admin && !rq.principal->is_admin()) {
    return http::problem(Error::forbidden("forbidden", "This route needs the admin role."), rq);
  }
  return std::nullopt;
}

}  // namespace bazaar::platform
