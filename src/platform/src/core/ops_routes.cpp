#include "ops_routes.hpp"

#include "events/dispatcher.hpp"

#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/pagination.hpp>

namespace bazaar::platform {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;

namespace {

// OpenAPI fragment of the routes in this file.
constexpr const char* kOpsOpenApi = R"json({
  "paths": {
    "/healthz": {"get": {"summary": "Liveness", "tags": ["operations"],
      "responses": {"200": {"description": "The process runs", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "const": "ok"}}}}}}}}},
    "/readyz": {"get": {"summary": "Readiness: the database (and Redis, if configured) answer", "tags": ["operations"],
      "responses": {"200": {"description": "Ready"}, "503": {"description": "A dependency is down; the body names it"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (admin listener, or an admin token)", "tags": ["operations"],
      "security": [{"bearer": []}], "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "tags": ["operations"], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    "/.well-known/jwks.json": {"get": {"summary": "Public keys that verify access tokens", "tags": ["operations"],
      "responses": {"200": {"description": "JWK set (Ed25519)"}}}},
    "/admin/v1/events": {"get": {"summary": "Outbox events by delivery status", "tags": ["admin"], "security": [{"bearer": []}],
      "parameters": [
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "failed", "dead"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "Page of events"}, "401": {"description": "No token"}, "403": {"description": "Not an admin"}}}},
    "/admin/v1/events/{id}/retry": {"post": {"summary": "Retry a failed or dead event now", "tags": ["admin"], "security": [{"bearer": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "responses": {"200": {"description": "The event, pending again"}, "404": {"description": "No such event"}, "409": {"description": "Already delivered"}}}},
    "/admin/v1/audit": {"get": {"summary": "Audit log of admin writes", "tags": ["admin"], "security": [{"bearer": []}],
      "parameters": [
        {"name": "actor", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "Page of audit entries"}}}}
  }
})json";

asio::awaitable<Reply> readyz(const OpsDeps& deps) {
  const bool database_ok = co_await deps.db.ping();
  bool redis_ok = true;
  if (deps.redis) {
    redis_ok = co_await deps.db.pool().run([redis = deps.redis] { return redis->ping(); });
  }
  json::object checks{{"database", database_ok ? "ok" : "unavailable"}};
  if (deps.redis) checks["redis"] = redis_ok ? "ok" : "unavailable";
  const bool ready = database_ok && redis_ok;
  Reply r = http::json_reply(ready ? 200 : 503, json::object{{"status", ready ? "ready" : "unavailable"},
                                                             {"checks", std::move(checks)}});
  if (!ready) r.headers.set("Retry-After", "5");
  co_return r;
}

Reply metrics_reply(const Request& rq, Metrics& metrics) {
  if (!rq.admin_listener) {
    if (!rq.principal) return http::problem(Error::unauthorized("unauthorized", "Metrics need an admin token."), rq);
    if (!rq.principal->is_admin()) return http::problem(Error::forbidden("forbidden", "Metrics need the admin role."), rq);
  }
  return http::text_reply(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
}


json::object event_row_json(const soci::row& row) {
  json::object e;
  e["id"] = row.get<std::string>(0);
  e["type"] = row.get<std::string>(1);
  e["aggregate_id"] = row.get<std::string>(2);
  e["status"] = row.get<std::string>(3);
  e["attempts"] = row.get<int>(4);
  e["last_error"] = row.get_indicator(5) == soci::i_null ? json::value(nullptr) : json::value(row.get<std::string>(5));
  e["occurred_at"] = row.get<std::string>(6);
  e["next_attempt_at"] = row.get<std::string>(7);
  e["payload"] = json::parse(row.get<std::string>(8));
  return e;
}

asio::awaitable<Reply> list_events(Request& rq, Database& db) {
  auto page = parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  const std::string status = rq.query_param("status").value_or("pending");
  if (status != "pending" && status != "failed" && status != "dead") {
    co_return http::problem(Error::validation("status", "must be one of pending, failed, dead"), rq);
  }
  const std::string after = page->after.empty() ? "" : page->after[0];
  if (!after.empty() && !is_uuid(after)) co_return http::problem(Error::validation("cursor", "is not valid"), rq);
  const int limit = page->limit;
  auto items = co_await db.run([&](soci::session& s) {
    json::array out;
    // "failed" = still pending but at least one attempt failed; "pending" = not yet delivered at all.
    soci::rowset<soci::row> rows = (s.prepare << R"sql(
        SELECT id::text, type, aggregate_id, status, attempts, last_error,
               to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), payload::text
        FROM platform.outbox
        WHERE CASE :status WHEN 'dead' THEN status = 'dead'
                           WHEN 'failed' THEN status = 'pending' AND attempts > 0
                           ELSE status = 'pending' END
          AND (:after = '' OR id > CAST(NULLIF(:after, '') AS uuid))
        ORDER BY id LIMIT :limit)sql",
                                    soci::use(status, "status"), soci::use(after, "after"), soci::use(limit + 1, "limit"));
    for (const auto& row : rows) out.push_back(event_row_json(row));
    return out;
  });
  std::optional<std::string> next;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(static_cast<std::size_t>(limit));
    next = encode_cursor({std::string(items.back().as_object().at("id").as_string())});
  }
  co_return http::json_reply(200, page_json(std::move(items), next));
}

asio::awaitable<Reply> retry_event(Request& rq, Database& db, Dispatcher& dispatcher) {
  const std::string id(rq.param("id"));
  auto outcome = co_await db.transaction([&](Tx& tx) -> std::optional<std::string> {
    std::string status;
    tx.sql() << "SELECT status FROM platform.outbox WHERE id = CAST(:id AS uuid) FOR UPDATE", soci::into(status),
        soci::use(id);
    if (!tx.sql().got_data()) return std::nullopt;
    if (status == "delivered") return status;
    tx.sql() << R"sql(UPDATE platform.outbox SET status = 'pending', attempts = 0, next_attempt_at = now(),
                      locked_until = NULL WHERE id = CAST(:id AS uuid))sql",
        soci::use(id);
    tx.sql() << R"sql(UPDATE platform.deliveries SET status = 'failed', attempts = 0
                      WHERE event_id = CAST(:id AS uuid) AND status = 'dead')sql",
        soci::use(id);
    record_audit(tx, rq, AuditEntry{"platform.event.retry", "event", id, {}});
    return std::string("pending");
  });
  if (!outcome) co_return http::problem(Error::not_found("There is no such event."), rq);
  if (*outcome == "delivered") {
    co_return http::problem(Error::conflict("invalid_transition", "The event was already delivered."), rq);
  }
  dispatcher.wake();
  co_return http::json_reply(200, json::object{{"id", id}, {"status", "pending"}});
}

asio::awaitable<Reply> list_audit(Request& rq, Database& db) {
  auto page = parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  const std::string actor = rq.query_param("actor").value_or("");
  const std::string after = page->after.empty() ? "" : page->after[0];
  if (!after.empty() && !is_uuid(after)) co_return http::problem(Error::validation("cursor", "is not valid"), rq);
  const int limit = page->limit;
  auto items = co_await db.run([&](soci::session& s) {
    json::array out;
    soci::rowset<soci::row> rows = (s.prepare << R"sql(
        SELECT id::text, actor_id, action, target_type, target_id, details::text, request_id,
               to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        FROM platform.audit_log
        WHERE (:actor = '' OR actor_id = :actor)
          AND (:after = '' OR id < CAST(NULLIF(:after, '') AS uuid))
        ORDER BY id DESC LIMIT :limit)sql",
                                    soci::use(actor, "actor"), soci::use(after, "after"), soci::use(limit + 1, "limit"));
    for (const auto& row : rows) {
      out.push_back(json::object{{"id", row.get<std::string>(0)},
                                 {"actor_id", row.get<std::string>(1)},
                                 {"action", row.get<std::string>(2)},
                                 {"target_type", row.get<std::string>(3)},
                                 {"target_id", row.get<std::string>(4)},
                                 {"details", json::parse(row.get<std::string>(5))},
                                 {"request_id", row.get<std::string>(6)},
                                 {"created_at", row.get<std::string>(7)}});
    }
    return out;
  });
  std::optional<std::string> next;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(static_cast<std::size_t>(limit));
    next = encode_cursor({std::string(items.back().as_object().at("id").as_string())});
  }
  co_return http::json_reply(200, page_json(std::move(items), next));
}

}  // namespace

void register_ops_routes(const OpsDeps& deps) {
  auto& r = deps.router;
  // The ready-made bodies of the cheapest routes are built once.
  auto health = std::make_shared<const std::string>(R"({"status":"ok"})");
  r.get("/healthz", Access::public_route, [health](Request&) -> asio::awaitable<Reply> {
    Reply reply;
    reply.headers.set("Content-Type", "application/json");
    reply.shared_body = health;
    co_return reply;
  });
  r.get("/readyz", Access::public_route, [deps](Request&) { return readyz(deps); });
  Metrics* metrics = &deps.metrics;
  r.get("/metrics", Access::public_route,
        [metrics](Request& rq) -> asio::awaitable<Reply> { co_return metrics_reply(rq, *metrics); });
  OpenApi* openapi = &deps.openapi;
  r.get("/openapi.json", Access::public_route,
        [openapi](Request&) -> asio::awaitable<Reply> { co_return http::raw_json_reply(200, openapi->serialized()); });
  auto jwks = std::make_shared<const std::string>(
      deps.jwt ? json::serialize(deps.jwt->keys().jwks()) : std::string(R"({"keys":[]})"));
  r.get("/.well-known/jwks.json", Access::public_route, [jwks](Request&) -> asio::awaitable<Reply> {
    Reply reply;
    reply.headers.set("Content-Type", "application/json");
    reply.headers.set("Cache-Control", "public, max-age=300");
    reply.shared_body = jwks;
    co_return reply;
  });
  deps.openapi.add_fragment(kOpsOpenApi);
}

void register_event_admin_routes(http::Router& router, OpenApi& openapi, Database& db, Dispatcher& dispatcher) {
  (void)openapi;  // documented in kOpsOpenApi
  router.get("/admin/v1/events", Access::admin, [&db](Request& rq) { return list_events(rq, db); });
  router.post("/admin/v1/events/{id:uuid}/retry", Access::admin,
              [&db, &dispatcher](Request& rq) { return retry_event(rq, db, dispatcher); });
  router.get("/admin/v1/audit", Access::admin, [&db](Request& rq) { return list_audit(rq, db); });
}

}  // namespace bazaar::platform
