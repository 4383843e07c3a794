#pragma once
// The platform's own routes: health, readiness, metrics, the OpenAPI document, JWKS, and the admin
// views of events and the audit log.
#include <platform/cache.hpp>
#include <platform/config.hpp>
#include <platform/db.hpp>
#include <platform/http.hpp>
#include <platform/metrics.hpp>
#include <platform/openapi.hpp>
#include <platform/security.hpp>

namespace bazaar::platform {

class Dispatcher;

struct OpsDeps {
  http::Router& router;
  OpenApi& openapi;
  Metrics& metrics;
  Database& db;
  RedisClient* redis;  // null without redis.url
  const security::JwtService* jwt;
  const Config& config;
};

void register_ops_routes(const OpsDeps& deps);
void register_event_admin_routes(http::Router& router, OpenApi& openapi, Database& db, Dispatcher& dispatcher);

}  // namespace bazaar::platform
