#pragma once
// What every request passes, outermost first (one coroutine, Pipeline::operator()):
//   request context (request id, access log, metrics, security headers, exception → problem)
//   → CORS → per-IP rate limit → routing (404/405/OPTIONS, admin listener split) → authentication
//   → authorization → idempotency → the route's handler.
#include "idempotency.hpp"

#include <platform/cache.hpp>
#include <platform/http.hpp>
#include <platform/metrics.hpp>
#include <platform/module.hpp>
#include <platform/security.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::platform {

struct PipelineOptions {
  std::vector<std::string> cors_origins;
  bool rate_limit_enabled = true;
  std::int64_t per_ip_per_minute = 1200;
  bool separate_admin_listener = false;  // /admin and /metrics only on the admin listener
};

struct PipelineDeps {
  const http::Router& router;
  const security::JwtService* jwt;  // null: no keys → every bearer token is refused
  RateLimiter& rate_limiter;
  IdempotencyStore& idempotency;
  Metrics& metrics;
  const std::vector<PrincipalCheck>& principal_checks;
};

class Pipeline {
 public:
  Pipeline(PipelineOptions options, PipelineDeps deps);
  boost::asio::awaitable<http::Reply> operator()(http::Request& rq) const;

 private:
  // The steps that never wait: a reply when they refuse the request, nullopt to go on.
  std::optional<http::Reply> route(http::Request& rq) const;
  std::optional<http::Reply> authenticate(http::Request& rq) const;
  std::optional<http::Reply> authorize(const http::Request& rq) const;
  // Plain functions around the one coroutine, so that their temporaries stay out of its frame.
  bool rate_limited(const http::Request& rq) const;
  boost::asio::awaitable<void> limit_rate(const http::Request& rq, std::optional<http::Reply>& refusal) const;
  void admit(http::Request& rq, std::optional<http::Reply>& refusal) const;  // routing, authentication
  boost::asio::awaitable<http::Reply> handle_admitted(http::Request& rq) const;
  void finish(const http::Request& rq, std::optional<http::Reply>& reply, std::exception_ptr failure, bool cors_headers,
              std::chrono::steady_clock::time_point started) const;

  PipelineOptions options_;
  PipelineDeps deps_;
};

}  // namespace bazaar::platform
