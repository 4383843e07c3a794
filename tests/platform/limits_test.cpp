// The server's protections and connection handling over raw TCP: body and header limits (413), keep-alive
// and pipelining, garbage input, slow clients (read timeout), idle keep-alive connections, and the caps on
// connections and in-flight requests.
#include "support/platform_app.hpp"
#include "support/raw_connection.hpp"
#include "support/test_env.hpp"
#include "support/test_routes.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

using namespace bazaar;
using namespace std::chrono_literals;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::RawConnection;
using Clock = std::chrono::steady_clock;

namespace {

namespace json = boost::json;

constexpr std::size_t kBodyLimit = 1024;    // the smallest http.body_limit_bytes allowed
constexpr std::size_t kUploadLimit = 4096;  // http.upload_limit_bytes

platform::Config limits_config() {
  auto c = testing::test_config();
  c.set("https.listen", "");
  c.set("http.body_limit_bytes", kBodyLimit);
  c.set("http.upload_limit_bytes", kUploadLimit);
  c.set("http.header_limit_bytes", 2048);
  return c;
}

std::unique_ptr<testing::PlatformApp> start(platform::Config config, std::shared_ptr<testing::Gate> gate = nullptr) {
  return std::make_unique<testing::PlatformApp>(
      std::move(config), [gate](platform::Platform& p) { testing::add_test_routes(p, gate); });
}

// A JSON object of exactly `size` bytes: {"pad":"xxx..."}.
std::string json_of_size(std::size_t size) {
  const std::string head = R"({"pad":")";
  return head + std::string(size - head.size() - 2, 'x') + "\"}";
}

std::string chunked(const std::string& body, std::size_t chunk) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    const auto part = body.substr(i, chunk);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    out += std::string(size) + "\r\n" + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

void check_problem(const HttpResponse& r, int status, std::string_view code) {
  INFO("response body: " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type") == "application/problem+json");
  auto doc = r.json().as_object();
  CHECK(doc.at("status") == status);
  CHECK(doc.at("code").as_string() == code);
  CHECK_FALSE(r.header("X-Request-Id").value_or("").empty());
  CHECK(doc.at("request_id").as_string() == r.header("X-Request-Id").value_or(""));
}

std::chrono::milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("http: a body above http.body_limit_bytes with Content-Length is a 413") {
    auto app = start(limits_config());
    auto at_limit = app->http().send(
        HttpRequest{"POST", "/test/echo", json_of_size(kBodyLimit), {{"Content-Type", "application/json"}}, {}});
    CHECK(at_limit.status == 200);
    auto over = app->http().send(
        HttpRequest{"POST", "/test/echo", json_of_size(kBodyLimit + 1), {{"Content-Type", "application/json"}}, {}});
    check_problem(over, 413, "payload_too_large");
    CHECK(over.header("Connection") == "close");
    // Above even the upload limit, which the parser checks while it reads the header.
    auto far_over = app->http().send(
        HttpRequest{"POST", "/test/echo", json_of_size(2 * kUploadLimit), {{"Content-Type", "application/json"}}, {}});
    check_problem(far_over, 413, "payload_too_large");
    auto no_type = app->http().send(HttpRequest{"POST", "/test/upload", std::string(2 * kUploadLimit, 'x'), {}, {}});
    check_problem(no_type, 413, "payload_too_large");
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: a chunked body above the limit is a 413, a small chunked body is read whole") {
    auto app = start(limits_config());
    const std::string head =
        "POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n";
    auto small = testing::parse_responses(testing::raw_exchange(app->platform_port("http"), head + chunked(R"({"a":[1,2,3]})", 4)));
    REQUIRE(small.size() == 1);
    CHECK(small[0].status == 200);
    CHECK(small[0].json().at("a").as_array().size() == 3);

    const auto started = Clock::now();
    auto big = testing::parse_responses(
        testing::raw_exchange(app->platform_port("http"), head + chunked(json_of_size(3 * kBodyLimit), 256)));
    REQUIRE(big.size() == 1);
    check_problem(big[0], 413, "payload_too_large");
    CHECK(since(started) < 2500ms);  // answered and closed, not left to time out
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: an image/* body gets http.upload_limit_bytes instead of the JSON limit") {
    auto app = start(limits_config());
    auto upload = [&](std::size_t size, const std::string& type) {
      return app->http().send(HttpRequest{"POST", "/test/upload", std::string(size, '\x89'), {{"Content-Type", type}}, {}});
    };
    auto png = upload(3000, "image/png");
    CHECK(png.status == 200);
    CHECK(png.json().at("bytes") == 3000);
    CHECK(upload(kUploadLimit, "IMAGE/JPEG").status == 200);
    check_problem(upload(kUploadLimit + 1, "image/png"), 413, "payload_too_large");
    check_problem(upload(3000, "application/octet-stream"), 413, "payload_too_large");
    // Chunked uploads are held to the same limit.
    const std::string head =
        "POST /test/upload HTTP/1.1\r\nHost: t\r\nContent-Type: image/webp\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n";
    auto ok = testing::parse_responses(
        testing::raw_exchange(app->platform_port("http"), head + chunked(std::string(3000, 'i'), 1000)));
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].status == 200);
    auto big = testing::parse_responses(
        testing::raw_exchange(app->platform_port("http"), head + chunked(std::string(kUploadLimit + 500, 'i'), 1000)));
    REQUIRE(big.size() == 1);
    check_problem(big[0], 413, "payload_too_large");
  }

  TEST_CASE("http: oversized request headers are refused with a problem and the server stays up") {
    auto app = start(limits_config());
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'h') + "\r\nConnection: close\r\n\r\n";
    const auto started = Clock::now();
    auto responses = testing::parse_responses(testing::raw_exchange(app->platform_port("http"), request));
    REQUIRE(responses.size() == 1);
    const int status = responses[0].status;
    CHECK((status == 413 || status == 431));
    check_problem(responses[0], status, "headers_too_large");
    CHECK(since(started) < 2500ms);
    // Many headers that add up past the limit, too.
    std::string many = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(30, 'v') + "\r\n";
    auto more = testing::parse_responses(testing::raw_exchange(app->platform_port("http"), many + "\r\n"));
    REQUIRE(more.size() == 1);
    CHECK((more[0].status == 413 || more[0].status == 431));
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: keep-alive serves several requests on one connection, one after another") {
    auto app = start(limits_config());
    RawConnection c(app->platform_port("http"));
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: ka-" + std::to_string(i) + "\r\n\r\n"));
      auto r = c.read_response();
      REQUIRE(r.has_value());
      CHECK(r->status == 200);
      CHECK(r->header("X-Request-Id") == "ka-" + std::to_string(i));
      CHECK(r->header("Connection") != "close");
    }
    const std::string body = R"({"n":1})";
    REQUIRE(c.send("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body));
    auto posted = c.read_response();
    REQUIRE(posted.has_value());
    CHECK(posted->json().at("n") == 1);
    CHECK_FALSE(c.closed());
  }

  TEST_CASE("http: pipelined requests are answered in order on one connection") {
    auto app = start(limits_config());
    const std::string raw = testing::raw_exchange(
        app->platform_port("http"),
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: first\r\n\r\n"
        "GET /nothing HTTP/1.1\r\nHost: t\r\nX-Request-Id: second\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: third\r\nConnection: close\r\n\r\n");
    auto responses = testing::parse_responses(raw);
    REQUIRE(responses.size() == 3);
    CHECK(responses[0].status == 200);
    CHECK(responses[0].header("X-Request-Id") == "first");
    CHECK(responses[1].status == 404);
    CHECK(responses[1].header("X-Request-Id") == "second");
    CHECK(responses[2].status == 200);
    CHECK(responses[2].header("X-Request-Id") == "third");
    CHECK(responses[2].header("Connection") == "close");
  }

  TEST_CASE("http: Connection: close and HTTP/1.0 end the connection after the response") {
    auto app = start(limits_config());
    RawConnection c(app->platform_port("http"));
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(c.wait_closed(2s));

    RawConnection old(app->platform_port("http"));
    REQUIRE(old.send("GET /healthz HTTP/1.0\r\n\r\n"));
    auto r10 = old.read_response();
    REQUIRE(r10.has_value());
    CHECK(r10->status == 200);
    CHECK(old.wait_closed(2s));
  }

  TEST_CASE("http: CR and LF in a header value cannot split the response; the server owns the framing headers") {
    auto app = start(limits_config());
    RawConnection c(app->platform_port("http"));
    // value = "a\r\nSet-Cookie: evil=1\r\n\r\nHTTP/1.1 200 OK", percent-encoded.
    REQUIRE(c.send("GET /test/reflect?status=200&value=a%0D%0ASet-Cookie:%20evil=1%0D%0A%0D%0AHTTP/1.1%20200%20OK HTTP/1.1\r\n"
                   "Host: t\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK_FALSE(r->header("Set-Cookie").has_value());
    CHECK(r->header("X-Reflected") == "a  Set-Cookie: evil=1    HTTP/1.1 200 OK");
    CHECK(r->header("Content-Length") == "9");  // the body's length, not the handler's "999"
    CHECK(r->body == "reflected");
    CHECK(r->header("Connection") != "close");  // keep-alive is the server's call, not the handler's
    REQUIRE(c.send("GET /test/reflect?value=x HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto empty = c.read_response();
    REQUIRE(empty.has_value());
    CHECK(empty->status == 204);
    CHECK_FALSE(empty->header("Content-Length").has_value());  // RFC 9110 §8.6: never on a 204
    CHECK_FALSE(c.closed());
  }

  TEST_CASE("http: an HTTP/1.0 client that asks for keep-alive gets it, and the answer says HTTP/1.0") {
    auto app = start(limits_config());
    RawConnection c(app->platform_port("http"));
    for (int i = 0; i < 2; ++i) {
      REQUIRE(c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto r = c.read_response();
      REQUIRE(r.has_value());
      CHECK(r->status == 200);
      CHECK(r->header("Connection") == "keep-alive");
    }
    CHECK_FALSE(c.closed());
  }

  TEST_CASE("http: Expect: 100-continue gets an interim response before the body is sent") {
    auto app = start(limits_config());
    RawConnection c(app->platform_port("http"));
    const std::string body = R"({"x":true})";
    REQUIRE(c.send("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    auto interim = c.read_response();
    REQUIRE(interim.has_value());
    CHECK(interim->status == 100);
    REQUIRE(c.send(body));
    auto r = c.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(r->json().at("x") == true);
  }

  TEST_CASE("http: garbage bytes get a 400 and the connection is closed") {
    auto app = start(limits_config());
    for (const std::string& garbage : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
                                      std::string("HELLO THERE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                                      std::string("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")}) {
      const auto started = Clock::now();
      const std::string raw = testing::raw_exchange(app->platform_port("http"), garbage, 5000);
      CHECK(since(started) < 4000ms);  // closed by the server, not by the client's timeout
      auto responses = testing::parse_responses(raw);
      REQUIRE(responses.size() == 1);
      check_problem(responses[0], 400, "bad_request");
      CHECK(responses[0].header("Connection") == "close");
    }
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: a client that sends half a request and stalls is cut off after http.read_timeout_ms") {
    auto cfg = limits_config();
    cfg.set("http.read_timeout_ms", 300);
    auto app = start(cfg);
    SUBCASE("half a request line") {
      RawConnection c(app->platform_port("http"));
      const auto started = Clock::now();
      REQUIRE(c.send("GET /healthz HT"));
      CHECK(c.wait_closed(5s));
      CHECK(since(started) < 2500ms);
      CHECK(since(started) >= 250ms);
    }
    SUBCASE("headers but only part of the body") {
      RawConnection c(app->platform_port("http"));
      const auto started = Clock::now();
      REQUIRE(c.send("POST /test/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\""));
      CHECK(c.wait_closed(5s));
      CHECK(since(started) < 2500ms);
    }
    SUBCASE("a trickle of bytes does not extend the deadline") {
      RawConnection c(app->platform_port("http"));
      const auto started = Clock::now();
      const std::string request = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(200, 's') + "\r\n\r\n";
      bool cut_off = false;
      for (char byte : request) {  // one byte every 20 ms would take 4+ s
        if (!c.send(std::string(1, byte)) || c.wait_closed(20ms)) {
          cut_off = true;
          break;
        }
      }
      CHECK(cut_off);
      CHECK(since(started) < 2500ms);
    }
    CHECK(app->http().get("/healthz").status == 200);
  }

  TEST_CASE("http: an idle keep-alive connection is closed after http.idle_timeout_ms") {
    auto cfg = limits_config();
    cfg.set("http.idle_timeout_ms", 300);
    auto app = start(cfg);
    RawConnection c(app->platform_port("http"));
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(c.read_response().has_value());
    const auto idle_since = Clock::now();
    CHECK(c.wait_closed(5s));
    CHECK(since(idle_since) < 2500ms);
    CHECK(since(idle_since) >= 200ms);  // measured from after the response was read: a little short
    CHECK(c.pending().empty());  // closed quietly, without an unsolicited response

    // A connection that never sends anything is closed the same way.
    RawConnection silent(app->platform_port("http"));
    const auto opened = Clock::now();
    CHECK(silent.wait_closed(5s));
    CHECK(since(opened) < 2500ms);
  }

  TEST_CASE("http: above http.max_in_flight a request gets 503 with Retry-After") {
    auto cfg = limits_config();
    cfg.set("http.max_in_flight", 1);
    auto gate = std::make_shared<testing::Gate>();
    auto app = start(cfg, gate);
    auto blocked = std::async(std::launch::async, [client = app->http()] { return client.get("/test/block"); });
    testing::GateRelease release{*gate};  // destroyed first: a failed check never leaves `blocked` waiting
    REQUIRE(gate->wait_entered(1));

    auto refused = app->http().send(HttpRequest{"GET", "/healthz", {}, {{"X-Request-Id", "overloaded-1"}}, {}});
    check_problem(refused, 503, "unavailable");
    CHECK(refused.header("Retry-After") == "1");
    CHECK(refused.header("X-Request-Id") == "overloaded-1");

    gate->release();
    auto done = blocked.get();
    CHECK(done.status == 200);
    CHECK(done.json().at("released") == true);
    // The slot is free again once the first reply is written (bounded poll: the client may read the reply
    // a moment before the server counts the request as done).
    int status = 0;
    const auto deadline = Clock::now() + 5s;
    while (status != 200 && Clock::now() < deadline) status = app->http().get("/healthz").status;
    CHECK(status == 200);
  }

  TEST_CASE("http: above http.max_connections new connections are closed at once") {
    auto cfg = limits_config();
    cfg.set("http.max_connections", 2);
    auto app = start(cfg);
    const auto port = app->platform_port("http");
    auto a = std::make_unique<RawConnection>(port);
    RawConnection b(port);
    for (auto* c : {a.get(), &b}) {  // a served request proves the server counts the connection
      REQUIRE(c->send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
      REQUIRE(c->read_response().has_value());
    }
    RawConnection third(port);
    const auto started = Clock::now();
    CHECK(third.wait_closed(5s));
    CHECK(since(started) < 2500ms);

    a.reset();  // one slot frees up: new connections are served again (bounded poll: the close is async)
    bool served = false;
    const auto deadline = Clock::now() + 5s;
    while (!served && Clock::now() < deadline) {
      RawConnection next(port);
      served = next.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n") && next.read_response(1s).has_value();
    }
    CHECK(served);
  }
}
