// The HTTP server end to end: the whole application in-process on ephemeral ports, spoken to over TCP.
#include "support/platform_app.hpp"
#include "support/raw_connection.hpp"
#include "support/test_env.hpp"
#include "support/test_routes.hpp"

#include <platform/http.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>
#include <platform/security.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

using namespace bazaar;
using testing::HttpRequest;
using testing::HttpResponse;

namespace {

namespace json = boost::json;

// The platform alone with the /test/... routes of support/test_routes.hpp.
std::unique_ptr<testing::PlatformApp> app_with_test_routes(platform::Config config = testing::test_config()) {
  return std::make_unique<testing::PlatformApp>(std::move(config),
                                                [](platform::Platform& p) { testing::add_test_routes(p); });
}

// Checks the RFC 9457 shape every error shares and returns the document.
json::object check_problem(const HttpResponse& r, int status, std::string_view code) {
  INFO("response body: " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type") == "application/problem+json");
  json::object doc;
  try {
    doc = r.json().as_object();
  } catch (const std::exception& e) {
    FAIL_CHECK("not a JSON problem document: " << r.body);
    return doc;
  }
  CHECK(doc.at("status") == status);
  CHECK(doc.at("code").as_string() == code);
  CHECK(doc.at("type").as_string() == std::string("urn:bazaar:problem:") + std::string(code));
  CHECK(doc.at("title").is_string());
  CHECK(doc.at("detail").is_string());
  REQUIRE(doc.contains("request_id"));
  CHECK(doc.at("request_id").as_string() == r.header("X-Request-Id").value_or("<none>"));
  return doc;
}

HttpResponse post(const testing::HttpClient& c, const std::string& target, std::string body,
                  std::vector<std::pair<std::string, std::string>> headers, const std::string& bearer = {}) {
  return c.send(HttpRequest{"POST", target, std::move(body), std::move(headers), bearer});
}

// Tampers with the signature of a JWT (flips one character of its last segment).
std::string tampered(std::string token) {
  char& c = token[token.rfind('.') + 5];
  c = c == 'A' ? 'B' : 'A';
  return token;
}

std::mutex g_log_mutex;
std::vector<std::string> g_log_lines;
void capture_log(std::string_view line) {
  std::lock_guard lock(g_log_mutex);
  g_log_lines.emplace_back(line);
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("http: /healthz answers ok with a request id and security headers") {
    testing::TestApp app;
    auto r = app.http().get("/healthz");
    CHECK(r.status == 200);
    CHECK(r.json().at("status") == "ok");
    CHECK(r.header("X-Request-Id").has_value());
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(r.header("X-Frame-Options") == "DENY");
    CHECK(r.header("Referrer-Policy") == "no-referrer");
    CHECK(r.header("Cache-Control") == "no-store");
  }

  TEST_CASE("http: a sane client request id is echoed, an insane one replaced") {
    testing::TestApp app;
    auto r = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", "abc-123"}}, {}});
    CHECK(r.header("X-Request-Id") == "abc-123");
    auto bad = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", "has spaces <>"}}, {}});
    CHECK(bad.header("X-Request-Id") != "has spaces <>");
    CHECK_FALSE(bad.header("X-Request-Id").value_or("").empty());
    auto long_id = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", std::string(200, 'a')}}, {}});
    CHECK(long_id.header("X-Request-Id") != std::string(200, 'a'));
    // Generated ids differ per request.
    CHECK(app.http().get("/healthz").header("X-Request-Id") != app.http().get("/healthz").header("X-Request-Id"));
  }

  TEST_CASE("http: unknown route is a 404 problem, wrong method a 405 with Allow") {
    testing::TestApp app;
    auto r = app.http().get("/no/such/route");
    check_problem(r, 404, "not_found");

    auto m = app.http().send(HttpRequest{"DELETE", "/healthz", {}, {}, {}});
    check_problem(m, 405, "method_not_allowed");
    CHECK(m.header("Allow") == "GET, HEAD, OPTIONS");

    auto unknown_method = app.http().send(HttpRequest{"BREW", "/healthz", {}, {}, {}});
    CHECK(unknown_method.status == 405);
  }

  TEST_CASE("http: a malformed id in a typed route is a 404, not a 405 or a 500") {
    testing::PlatformApp app;
    const auto admin = app.token_for(platform::new_uuid_v7(), "admin");
    auto r = app.http().send(HttpRequest{"POST", "/admin/v1/events/not-a-uuid/retry", {}, {}, admin});
    check_problem(r, 404, "not_found");
    auto ok_shape = app.http().send(HttpRequest{"POST", "/admin/v1/events/" + platform::new_uuid_v7() + "/retry", {}, {}, admin});
    check_problem(ok_shape, 404, "not_found");  // the route matched; the event does not exist
    CHECK(ok_shape.json().at("detail").as_string().find("event") != std::string::npos);
  }

  TEST_CASE("http: TLS listener completes a handshake and serves the same API") {
    testing::TestApp app;
    auto r = app.https().get("/healthz");
    CHECK(r.status == 200);
    CHECK(r.json().at("status") == "ok");
  }

  TEST_CASE("http: query parameters are percent-decoded and '+' is a space") {
    platform::http::Request rq;
    rq.query = "q=red%20shoes&plus=a+b&enc%61ded=1&empty=&flag&pct=100%25&cursor=abc-_";
    CHECK(rq.query_param("q") == "red shoes");
    CHECK(rq.query_param("plus") == "a b");
    CHECK(rq.query_param("encaded") == "1");
    CHECK(rq.query_param("empty") == "");
    CHECK(rq.query_param("flag") == "");
    CHECK(rq.query_param("pct") == "100%");
    CHECK(rq.query_param("cursor") == "abc-_");
    CHECK_FALSE(rq.query_param("absent").has_value());
    rq.query = "";
    CHECK_FALSE(rq.query_param("q").has_value());
  }

  TEST_CASE("http: malformed JSON is a 400 bad_request problem") {
    auto app = app_with_test_routes();
    for (const char* body : {"{", "{\"a\":}", "not json", "{\"a\":1} trailing"}) {
      CAPTURE(body);
      auto r = post(app->http(), "/test/echo", body, {{"Content-Type", "application/json"}});
      check_problem(r, 400, "bad_request");
    }
    auto array = post(app->http(), "/test/echo", "[1,2]", {{"Content-Type", "application/json"}});
    check_problem(array, 400, "bad_request");
    auto deep = post(app->http(), "/test/echo", std::string(40, '[') + std::string(40, ']'),
                     {{"Content-Type", "application/json"}});
    check_problem(deep, 400, "bad_request");
    auto empty = post(app->http(), "/test/echo", "", {});
    check_problem(empty, 400, "bad_request");  // no body, no type: the body is missing
    // And a good one goes through.
    auto ok = app->http().post_json("/test/echo", json::object{{"a", 1}});
    CHECK(ok.status == 200);
    CHECK(ok.json().at("a") == 1);
  }

  TEST_CASE("http: a body that is not application/json is a 415") {
    auto app = app_with_test_routes();
    for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                             "multipart/form-data; boundary=x"}) {
      CAPTURE(type);
      auto r = post(app->http(), "/test/echo", R"({"a":1})", {{"Content-Type", type}});
      check_problem(r, 415, "unsupported_media_type");
    }
    auto no_type = post(app->http(), "/test/echo", R"({"a":1})", {});
    check_problem(no_type, 415, "unsupported_media_type");
    // Parameters and case do not matter.
    for (const char* type : {"application/json; charset=utf-8", "Application/JSON", "application/json ;charset=UTF-8"}) {
      CAPTURE(type);
      CHECK(post(app->http(), "/test/echo", R"({"a":1})", {{"Content-Type", type}}).status == 200);
    }
  }

  TEST_CASE("http: a well-formed but invalid body is a 422 with one error per field") {
    auto app = app_with_test_routes();
    auto r = app->http().post_json("/test/validate", json::object{{"name", 5}, {"age", 200}, {"email", "x"}});
    auto doc = check_problem(r, 422, "validation_failed");
    REQUIRE(doc.contains("errors"));
    const auto& errors = doc.at("errors").as_array();
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].at("field") == "name");
    CHECK(errors[1].at("field") == "age");
    CHECK(errors[2].at("field") == "email");
    for (const auto& e : errors) CHECK(e.at("message").is_string());

    auto missing = app->http().post_json("/test/validate", json::object{});
    auto missing_doc = check_problem(missing, 422, "validation_failed");
    CHECK(missing_doc.at("errors").as_array().size() == 2);

    auto ok = app->http().post_json("/test/validate", json::object{{"name", "Zoë"}, {"age", 30}});
    CHECK(ok.status == 200);
    CHECK(ok.json().at("name") == "Zoë");
    // Problem documents without field errors carry no "errors" member.
    auto not_found = app->http().get("/nothing");
    CHECK_FALSE(not_found.json().as_object().contains("errors"));
  }

  TEST_CASE("http: a handler that throws is a 500 problem with the request id and without the exception's text") {
    auto app = app_with_test_routes();
    {
      std::lock_guard lock(g_log_mutex);
      g_log_lines.clear();
    }
    platform::log::set_sink(&capture_log);
    auto r = app->http().send(HttpRequest{"GET", "/test/throw", {}, {{"X-Request-Id", "req-500-test"}}, {}});
    platform::log::set_sink(nullptr);
    auto doc = check_problem(r, 500, "internal");
    CHECK(doc.at("request_id") == "req-500-test");
    CHECK(r.body.find("secret") == std::string::npos);
    CHECK(r.body.find("hunter2") == std::string::npos);
    for (const auto& [k, v] : r.headers) CHECK(v.find("hunter2") == std::string::npos);
    // The details go to the log instead, under the same request id.
    bool logged = false;
    {
      std::lock_guard lock(g_log_mutex);
      for (const auto& line : g_log_lines) {
        if (line.find("req-500-test") != std::string::npos && line.find("secret-internal-detail") != std::string::npos) {
          logged = true;
        }
      }
    }
    CHECK(logged);
    // The server is still there.
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: an ErrorException thrown by a handler keeps its status and code") {
    auto app = app_with_test_routes();
    auto conflict = app->http().get("/test/conflict");
    auto doc = check_problem(conflict, 409, "thing_taken");
    CHECK(doc.at("detail") == "The thing is taken.");
    auto down = app->http().get("/test/unavailable");
    check_problem(down, 503, "unavailable");
    CHECK(down.header("Retry-After") == "7");
  }

  TEST_CASE("http: HEAD returns the GET headers and Content-Length without a body") {
    testing::PlatformApp app;
    auto get = app.http().get("/healthz");
    const std::string raw = testing::raw_exchange(
        app.platform_port("http"), "HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const auto end = raw.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    CHECK(raw.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(raw.size() == end + 4);  // nothing after the headers
    CHECK(raw.find("Content-Length: " + std::to_string(get.body.size())) != std::string::npos);
    CHECK(raw.find("Content-Type: application/json") != std::string::npos);

    // On a keep-alive connection the next response starts right after the HEAD's headers.
    testing::RawConnection c(app.platform_port("http"));
    REQUIRE(c.send("HEAD /openapi.json HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto head = c.read_response(std::chrono::seconds(5), /*head=*/true);
    REQUIRE(head.has_value());
    CHECK(head->status == 200);
    CHECK(std::stoul(head->header("Content-Length").value_or("0")) > 100);
    CHECK(head->body.empty());
    auto next = c.read_response();
    REQUIRE(next.has_value());
    CHECK(next->status == 200);
    CHECK(next->body == get.body);
  }

  TEST_CASE("http: OPTIONS answers 204 with the allowed methods") {
    testing::PlatformApp app;
    auto r = app.http().send(HttpRequest{"OPTIONS", "/healthz", {}, {}, {}});
    CHECK(r.status == 204);
    CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");
    CHECK(r.body.empty());
    auto unknown = app.http().send(HttpRequest{"OPTIONS", "/no/such/route", {}, {}, {}});
    check_problem(unknown, 404, "not_found");
  }

  TEST_CASE("http: a CORS preflight from an allowed origin is answered, one from another origin is not") {
    auto cfg = testing::test_config();
    cfg.set("http.cors_origins", json::array{"https://shop.example", "https://admin.shop.example"});
    testing::PlatformApp app(cfg);
    auto pre = app.http().send(HttpRequest{
        "OPTIONS", "/healthz", {}, {{"Origin", "https://shop.example"}, {"Access-Control-Request-Method", "GET"}}, {}});
    CHECK(pre.status == 204);
    CHECK(pre.header("Access-Control-Allow-Origin") == "https://shop.example");
    CHECK(pre.header("Access-Control-Allow-Methods").value_or("").find("POST") != std::string::npos);
    CHECK(pre.header("Access-Control-Allow-Headers").value_or("").find("Authorization") != std::string::npos);
    CHECK(pre.header("Access-Control-Allow-Headers").value_or("").find("Idempotency-Key") != std::string::npos);
    CHECK(pre.header("Vary") == "Origin");

    auto evil = app.http().send(HttpRequest{
        "OPTIONS", "/healthz", {}, {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}}, {}});
    CHECK_FALSE(evil.header("Access-Control-Allow-Origin").has_value());
    CHECK_FALSE(evil.header("Access-Control-Allow-Methods").has_value());

    // Simple requests: the allowed origin is named and may read the request id; others get nothing.
    auto simple = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"Origin", "https://admin.shop.example"}}, {}});
    CHECK(simple.status == 200);
    CHECK(simple.header("Access-Control-Allow-Origin") == "https://admin.shop.example");
    CHECK(simple.header("Access-Control-Expose-Headers").value_or("").find("X-Request-Id") != std::string::npos);
    auto other = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"Origin", "https://evil.example"}}, {}});
    CHECK(other.status == 200);
    CHECK_FALSE(other.header("Access-Control-Allow-Origin").has_value());
    // Errors carry CORS headers too, so browsers can read the problem.
    auto err = app.http().send(HttpRequest{"GET", "/nothing", {}, {{"Origin", "https://shop.example"}}, {}});
    CHECK(err.status == 404);
    CHECK(err.header("Access-Control-Allow-Origin") == "https://shop.example");
  }

  TEST_CASE("http: a protected route without a valid token is a 401 with WWW-Authenticate: Bearer") {
    auto app = app_with_test_routes();
    const auto user = platform::new_uuid_v7();
    auto expect_401 = [&](const HttpResponse& r) {
      check_problem(r, 401, r.json().at("code").as_string());
      CHECK(r.header("WWW-Authenticate") == "Bearer");
      CHECK(r.body.find(user) == std::string::npos);
    };
    CAPTURE(user);
    SUBCASE("no token") { expect_401(app->http().get("/test/me")); }
    SUBCASE("a garbage token") {
      expect_401(app->http().get("/test/me", "garbage"));
      expect_401(app->http().get("/test/me", "a.b.c"));
    }
    SUBCASE("an expired token") {
      const auto old = app->platform().jwt().issue(user, "customer", std::chrono::system_clock::now() - std::chrono::hours(2));
      expect_401(app->http().get("/test/me", old));
    }
    SUBCASE("a tampered token") {
      expect_401(app->http().get("/test/me", tampered(app->token_for(user))));
    }
    SUBCASE("a token signed by another key") {
      auto keys = std::make_shared<platform::security::KeyRing>();
      keys->add_generated("test-2026-01");  // the same kid, another key
      platform::security::JwtService other(keys, app->platform().jwt().settings());
      expect_401(app->http().get("/test/me", other.issue(user, "customer")));
    }
    SUBCASE("another scheme") {
      expect_401(app->http().send(HttpRequest{"GET", "/test/me", {}, {{"Authorization", "Basic dXNlcjpwYXNz"}}, {}}));
      expect_401(app->http().send(HttpRequest{"GET", "/test/me", {}, {{"Authorization", "Bearer "}}, {}}));
    }
    SUBCASE("a bad token even on a public route") {
      // A client that sends a token expects it to count: a broken one is refused rather than ignored.
      expect_401(app->http().get("/healthz", "garbage"));
    }
    SUBCASE("a valid token passes") {
      auto r = app->http().get("/test/me", app->token_for(user));
      CHECK(r.status == 200);
      CHECK(r.json().at("user_id").as_string() == user);
      CHECK(r.json().at("role") == "customer");
      auto lower = app->http().send(
          HttpRequest{"GET", "/test/me", {}, {{"Authorization", "bearer " + app->token_for(user)}}, {}});
      CHECK(lower.status == 200);  // the scheme is case-insensitive
    }
  }

  TEST_CASE("http: a principal check can refuse a valid token") {
    testing::PlatformApp app(testing::test_config(), [](platform::Platform& p) {
      testing::add_test_routes(p);
      p.add_principal_check([](const platform::http::Principal& who) -> boost::asio::awaitable<platform::Result<void>> {
        if (who.user_id == "suspended-user") {
          co_return platform::Error::forbidden("account_suspended", "The account is suspended.");
        }
        co_return platform::Result<void>{};
      });
    });
    check_problem(app.http().get("/test/me", app.token_for("suspended-user")), 403, "account_suspended");
    // Refused on public routes too: the token is not silently dropped.
    check_problem(app.http().get("/healthz", app.token_for("suspended-user")), 403, "account_suspended");
    CHECK(app.http().get("/test/me", app.token_for("active-user")).status == 200);
  }

  TEST_CASE("http: a customer token on an admin route is a 403, an admin token passes") {
    auto app = app_with_test_routes();
    auto customer = app->http().get("/test/admin", app->token_for(platform::new_uuid_v7(), "customer"));
    check_problem(customer, 403, "forbidden");
    CHECK_FALSE(customer.header("WWW-Authenticate").has_value());
    check_problem(app->http().get("/test/admin"), 401, "unauthorized");
    auto admin = app->http().get("/test/admin", app->token_for(platform::new_uuid_v7(), "admin"));
    CHECK(admin.status == 200);
    // Admin API routes of the platform behave the same.
    check_problem(app->http().get("/admin/v1/events", app->token_for(platform::new_uuid_v7())), 403, "forbidden");
    CHECK(app->http().get("/admin/v1/events", app->token_for(platform::new_uuid_v7(), "admin")).status == 200);
  }

  TEST_CASE("http: /metrics needs an admin token and serves Prometheus text") {
    testing::PlatformApp app;
    app.http().get("/healthz");
    auto anonymous = app.http().get("/metrics");
    check_problem(anonymous, 401, "unauthorized");
    CHECK(anonymous.header("WWW-Authenticate") == "Bearer");
    check_problem(app.http().get("/metrics", app.token_for(platform::new_uuid_v7())), 403, "forbidden");
    auto r = app.http().get("/metrics", app.token_for(platform::new_uuid_v7(), "admin"));
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
    CHECK(r.body.find("# TYPE bazaar_http_requests_total counter") != std::string::npos);
    CHECK(r.body.find("bazaar_http_requests_total{method=\"GET\",route=\"/healthz\"") != std::string::npos);
    CHECK(r.body.find("bazaar_http_request_duration_seconds_bucket") != std::string::npos);
    CHECK(r.body.find("bazaar_db_pool_size") != std::string::npos);
    CHECK(r.body.find("bazaar_http_open_connections") != std::string::npos);
    CHECK(r.body.find("bazaar_process_resident_memory_bytes") != std::string::npos);
  }

  TEST_CASE("http: with an admin listener, /admin and /metrics are served only there") {
    auto cfg = testing::test_config();
    cfg.set("admin.listen", "127.0.0.1:0");
    testing::PlatformApp app(cfg);
    const auto admin_port = app.platform_port("admin");
    REQUIRE(admin_port != 0);
    REQUIRE(admin_port != app.platform_port("http"));
    const testing::HttpClient admin_listener(admin_port);
    const auto admin_token = app.token_for(platform::new_uuid_v7(), "admin");

    // Public listener: the admin surface does not exist, not even for an admin.
    check_problem(app.http().get("/metrics"), 404, "not_found");
    check_problem(app.http().get("/metrics", admin_token), 404, "not_found");
    check_problem(app.http().get("/admin/v1/events", admin_token), 404, "not_found");
    check_problem(app.https().get("/admin/v1/events", admin_token), 404, "not_found");
    CHECK(app.http().get("/openapi.json").status == 200);

    // Admin listener: metrics without a token, the admin API still with the admin role.
    auto metrics = admin_listener.get("/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.body.find("bazaar_http_requests_total") != std::string::npos);
    check_problem(admin_listener.get("/admin/v1/events"), 401, "unauthorized");
    check_problem(admin_listener.get("/admin/v1/events", app.token_for(platform::new_uuid_v7())), 403, "forbidden");
    CHECK(admin_listener.get("/admin/v1/events", admin_token).status == 200);
    // ... and nothing else.
    check_problem(admin_listener.get("/openapi.json"), 404, "not_found");
    // Health and readiness answer on both.
    CHECK(app.http().get("/healthz").status == 200);
    CHECK(admin_listener.get("/healthz").status == 200);
    CHECK(admin_listener.get("/readyz").status == 200);
  }

  TEST_CASE("http: every response carries X-Request-Id, errors included") {
    auto app = app_with_test_routes();
    for (const auto& r : {app->http().get("/nothing"), app->http().get("/test/throw"), app->http().get("/test/me"),
                          app->http().send(HttpRequest{"PUT", "/healthz", {}, {}, {}}),
                          app->http().send(HttpRequest{"OPTIONS", "/healthz", {}, {}, {}})}) {
      CAPTURE(r.status);
      CHECK_FALSE(r.header("X-Request-Id").value_or("").empty());
    }
  }
}
