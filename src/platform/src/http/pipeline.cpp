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
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
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

// Outermost: gives every request an id, measures and logs it, and turns any exception into a problem.
http::Middleware request_context(Metrics& metrics) {
  return [&metrics](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    const auto started = std::chrono::steady_clock::now();
    rq.request_id = http::request_id_for(rq);
    Reply reply;
    try {
      reply = co_await next(rq);
    } catch (const ErrorException& e) {
      if (e.error().code == Errc::internal || e.error().code == Errc::unavailable) {
        log::warn("request failed", {{"request_id", rq.request_id}, {"error", e.what()}});
      }
      reply = http::problem(e.error(), rq);
    } catch (const std::exception& e) {
      const auto state = sqlstate_of(e);
      if (state.rfind("22", 0) == 0) {  // data exception: PostgreSQL could not take a value the client sent
        log::info("data exception", {{"request_id", rq.request_id}, {"sqlstate", state}, {"error", e.what()}});
        reply = http::problem(
            Error::validation(std::vector<FieldError>{}, "A value in the request is malformed or out of range."), rq);
      } else if (state == "23505") {  // a unique key the handler did not expect to clash (a race)
        reply = http::problem(Error::conflict("conflict", "The request conflicts with the current state."), rq);
      } else {
        // A bug or an infrastructure failure: details to the log, never to the client.
        log::error("unhandled exception", {{"request_id", rq.request_id}, {"route", rq.route}, {"error", e.what()}});
        reply = http::problem(Error::internal_error(e.what()), rq);
      }
    }
    reply.headers.set("X-Request-Id", rq.request_id);
    add_security_headers(reply);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (rq.matched_route) {
      metrics.observe_route(rq.matched_route, rq.method_name, rq.route, reply.status, seconds);
    } else {
      metrics.observe_request(rq.method_name, rq.route, reply.status, seconds);
    }
    if (log::enabled(log::Level::info)) {
      boost::json::object line{{"request_id", rq.request_id},
                               {"method", rq.method_name},
                               {"route", rq.route.empty() ? rq.path : rq.route},
                               {"status", reply.status},
                               {"duration_us", static_cast<std::int64_t>(seconds * 1e6)},
                               {"client_ip", rq.client_ip}};
      if (rq.principal) line["user_id"] = rq.principal->user_id;
      if (auto tp = rq.header("traceparent")) line["traceparent"] = *tp;
      log::info("request", std::move(line));
    }
    co_return reply;
  };
}

http::Middleware cors(std::vector<std::string> origins) {
  return [origins = std::move(origins)](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    auto origin = rq.header("Origin");
    const bool allowed =
        origin && std::any_of(origins.begin(), origins.end(), [&](const std::string& o) { return o == "*" || o == *origin; });
    if (allowed && rq.method == http::Method::options && rq.header("Access-Control-Request-Method")) {
      Reply preflight = http::no_content();
      preflight.headers.set("Access-Control-Allow-Origin", std::string(*origin));
      preflight.headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      preflight.headers.set("Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent");
      preflight.headers.set("Access-Control-Max-Age", "600");
      preflight.headers.set("Vary", "Origin");
      co_return preflight;
    }
    Reply reply = co_await next(rq);
    if (allowed) {
      reply.headers.set("Access-Control-Allow-Origin", std::string(*origin));
      reply.headers.set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Idempotent-Replayed");
      reply.headers.set("Vary", "Origin");
    }
    co_return reply;
  };
}

http::Middleware rate_limit(RateLimiter& limiter, std::int64_t per_minute) {
  return [&limiter, per_minute](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    if (rq.path == "/healthz" || rq.path == "/readyz" || rq.path == "/metrics") co_return co_await next(rq);
    auto decision = co_await limiter.hit("ip:" + rq.client_ip, per_minute, std::chrono::seconds(60));
    if (!decision.allowed) co_return http::problem(Error::rate_limited(decision.retry_after_seconds), rq);
    co_return co_await next(rq);
  };
}

http::Middleware routing(const http::Router& router, bool separate_admin_listener) {
  return [&router, separate_admin_listener](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    if (separate_admin_listener) {
      const bool ops = rq.path == "/healthz" || rq.path == "/readyz";
      if (rq.admin_listener != is_admin_path(rq.path) && !ops) co_return http::problem(Error::not_found(), rq);
    }
    auto match = router.match(rq.method, rq.path);
    if (!match.route) {
      if (match.allowed.empty()) {
        co_return http::problem(Error::not_found("There is no such route."), rq);
      }
      if (rq.method == http::Method::options) {
        Reply r = http::no_content();
        r.headers.set("Allow", allow_header(match.allowed));
        co_return r;
      }
      Reply r = http::problem(Error::make(Errc::method_not_allowed, "method_not_allowed",
                                          fmt::format("{} is not allowed here.", rq.method_name)),
                              rq);
      r.headers.set("Allow", allow_header(match.allowed));
      co_return r;
    }
    rq.matched_route = match.route;
    rq.route = match.route->pattern;
    rq.params = std::move(match.params);
    co_return co_await next(rq);
  };
}

// An Ed25519 verification costs ~50 µs of CPU; a client sends the same token for its whole lifetime. Each
// I/O thread remembers the claims of tokens it verified (exact token text → claims), re-checking only the
// expiry on a hit. Bounded: the map is dropped when full. Tokens are never cached when invalid.
Result<security::AccessClaims> verify_cached(const security::JwtService& jwt, std::string_view token) {
  constexpr std::size_t kMaxEntries = 4096;
  struct Cache {
    const security::JwtService* owner = nullptr;
    std::unordered_map<std::string, security::AccessClaims> entries;
  };
  thread_local Cache cache;
  if (cache.owner != &jwt) {  // another platform instance (tests): never share verified claims
    cache.entries.clear();
    cache.owner = &jwt;
  }
  const auto now = std::chrono::system_clock::now();
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (auto it = cache.entries.find(std::string(token)); it != cache.entries.end()) {
    if (it->second.exp + jwt.settings().leeway.count() > now_s) return it->second;
    cache.entries.erase(it);
  }
  auto claims = jwt.verify(token, now);
  if (claims) {
    if (cache.entries.size() >= kMaxEntries) cache.entries.clear();
    cache.entries.emplace(std::string(token), *claims);
  }
  return claims;
}

http::Middleware authentication(const security::JwtService* jwt, const std::vector<PrincipalCheck>& checks) {
  return [jwt, &checks](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    auto header = rq.header("Authorization");
    if (!header) co_return co_await next(rq);
    constexpr std::string_view kBearer = "Bearer ";
    if (header->size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), header->begin(),
                                                       [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      co_return http::problem(Error::unauthorized("invalid_token", "Use 'Authorization: Bearer <access token>'."), rq);
    }
    if (!jwt) co_return http::problem(Error::unauthorized("invalid_token", "Tokens are not accepted here."), rq);
    auto claims = verify_cached(*jwt, header->substr(kBearer.size()));
    if (!claims) co_return http::problem(claims.error(), rq);
    http::Principal principal{claims->sub, claims->role, claims->jti};
    for (const auto& check : checks) {
      auto ok = co_await check(principal);
      if (!ok) co_return http::problem(ok.error(), rq);
    }
    rq.principal = std::move(principal);
    co_return co_await next(rq);
  };
}

http::Middleware authorization() {
  return [](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    const auto access = rq.matched_route->access;
    if (access != http::Access::public_route && !rq.principal) {
      co_return http::problem(Error::unauthorized("unauthorized", "Authentication is required."), rq);
    }
    if (access == http::Access::admin && !rq.principal->is_admin()) {
      co_return http::problem(Error::forbidden("forbidden", "This route needs the admin role."), rq);
    }
    co_return co_await next(rq);
  };
}

http::Middleware idempotency(IdempotencyStore& store) {
  return [&store](Request& rq, const Next& next) -> boost::asio::awaitable<Reply> {
    return store.handle(rq, next);
  };
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, PipelineDeps deps) : options_(std::move(options)), deps_(deps) {
  chain_.push_back(request_context(deps_.metrics));
  chain_.push_back(cors(options_.cors_origins));
  if (options_.rate_limit_enabled) chain_.push_back(rate_limit(deps_.rate_limiter, options_.per_ip_per_minute));
  chain_.push_back(routing(deps_.router, options_.separate_admin_listener));
  chain_.push_back(authentication(deps_.jwt, deps_.principal_checks));
  chain_.push_back(authorization());
  chain_.push_back(idempotency(deps_.idempotency));
}

boost::asio::awaitable<Reply> Pipeline::operator()(Request& rq) const { return run_from(0, rq); }

boost::asio::awaitable<Reply> Pipeline::run_from(std::size_t index, Request& rq) const {
  if (index == chain_.size()) co_return co_await rq.matched_route->handler(rq);
  // Captures two words: fits std::function's small buffer, no allocation per step.
  const Next next = [this, index](Request& r) { return run_from(index + 1, r); };
  co_return co_await chain_[index](rq, next);
}

}  // namespace bazaar::platform
