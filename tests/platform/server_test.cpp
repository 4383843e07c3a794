// The HTTP server end to end: the whole application in-process on ephemeral ports, spoken to over TCP.
#include "support/test_env.hpp"

#include <doctest/doctest.h>

using namespace bazaar;
using testing::HttpRequest;

TEST_SUITE("http") {
  TEST_CASE("http: /healthz answers ok with a request id and security headers") {
    testing::TestApp app;
    auto r = app.http().get("/healthz");
    CHECK(r.status == 200);
    CHECK(r.json().at("status") == "ok");
    CHECK(r.header("X-Request-Id").has_value());
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
  }

  TEST_CASE("http: a sane client request id is echoed, an insane one replaced") {
    testing::TestApp app;
    auto r = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", "abc-123"}}, {}});
    CHECK(r.header("X-Request-Id") == "abc-123");
    auto bad = app.http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", "has spaces <>"}}, {}});
    CHECK(bad.header("X-Request-Id") != "has spaces <>");
  }

  TEST_CASE("http: unknown route is a 404 problem, wrong method a 405 with Allow") {
    testing::TestApp app;
    auto r = app.http().get("/no/such/route");
    CHECK(r.status == 404);
    CHECK(r.header("Content-Type") == "application/problem+json");
    auto doc = r.json().as_object();
    CHECK(doc.at("code") == "not_found");
    CHECK(doc.at("status") == 404);
    CHECK(doc.at("type") == "urn:bazaar:problem:not_found");
    CHECK(doc.at("request_id").as_string() == r.header("X-Request-Id").value());

    auto m = app.http().send(HttpRequest{"DELETE", "/healthz", {}, {}, {}});
    CHECK(m.status == 405);
    CHECK(m.header("Allow").value().find("GET") != std::string::npos);
  }

  TEST_CASE("http: TLS listener completes a handshake and serves the same API") {
    testing::TestApp app;
    auto r = app.https().get("/healthz");
    CHECK(r.status == 200);
  }
}
