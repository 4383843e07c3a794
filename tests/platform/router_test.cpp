// The router on its own: method + path templates, typed parameters, 404 vs 405, HEAD, registration errors.
#include <platform/http.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using bazaar::platform::http::Access;
using bazaar::platform::http::Method;
using bazaar::platform::http::Reply;
using bazaar::platform::http::Request;
using bazaar::platform::http::RouteMatch;
using bazaar::platform::http::Router;

asio::awaitable<Reply> noop(Request&) { co_return Reply{}; }

// The pattern of the matched route, or "" when there is none.
std::string matched(const Router& r, Method m, std::string_view path) {
  auto match = r.match(m, path);
  return match.route ? match.route->pattern : std::string();
}

std::string param(const RouteMatch& m, std::string_view name) {
  for (const auto& [k, v] : m.params) {
    if (k == name) return v;
  }
  return "<absent>";
}

bool allows(const RouteMatch& m, Method method) {
  return std::find(m.allowed.begin(), m.allowed.end(), method) != m.allowed.end();
}

constexpr const char* kUuid = "0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091";

}  // namespace

TEST_SUITE("router") {
  TEST_CASE("router: a literal segment beats a parameter at the same position") {
    Router r;
    r.get("/api/v1/products/{id}", Access::public_route, noop);
    r.get("/api/v1/products/search", Access::public_route, noop);
    CHECK(matched(r, Method::get, "/api/v1/products/search") == "/api/v1/products/search");
    auto m = r.match(Method::get, "/api/v1/products/abc");
    REQUIRE(m.route != nullptr);
    CHECK(m.route->pattern == "/api/v1/products/{id}");
    CHECK(param(m, "id") == "abc");
  }

  TEST_CASE("router: a literal that leads nowhere falls back to the parameter branch") {
    Router r;
    r.get("/a/lit/c", Access::public_route, noop);
    r.get("/a/{x}/b", Access::public_route, noop);
    auto m = r.match(Method::get, "/a/lit/b");
    REQUIRE(m.route != nullptr);
    CHECK(m.route->pattern == "/a/{x}/b");
    CHECK(param(m, "x") == "lit");
    CHECK(matched(r, Method::get, "/a/lit/c") == "/a/lit/c");
  }

  TEST_CASE("router: {id:uuid} only matches UUIDs, so a malformed id finds no route at all") {
    Router r;
    r.get("/orders/{id:uuid}", Access::public_route, noop);
    auto m = r.match(Method::get, std::string("/orders/") + kUuid);
    REQUIRE(m.route != nullptr);
    CHECK(param(m, "id") == kUuid);
    CHECK(matched(r, Method::get, "/orders/0190F5A2-7C1E-7D3A-9B2F-4C5D6E7F8091") == "/orders/{id:uuid}");

    for (const char* bad : {"/orders/not-a-uuid", "/orders/0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f809",
                            "/orders/0190f5a2-7c1e-7d3a-9b2f-4c5d6e7f80911", "/orders/0190f5a2x7c1e-7d3a-9b2f-4c5d6e7f8091",
                            "/orders/g190f5a2-7c1e-7d3a-9b2f-4c5d6e7f8091", "/orders/1"}) {
      CAPTURE(bad);
      auto miss = r.match(Method::get, bad);
      CHECK(miss.route == nullptr);
      CHECK(miss.allowed.empty());  // a plain 404, not a 405
      CHECK(miss.params.empty());
    }
  }

  TEST_CASE("router: a typed parameter wins over an untyped one, which still takes everything else") {
    Router r;
    r.get("/things/{slug}", Access::public_route, noop);
    r.get("/things/{id:uuid}", Access::public_route, noop);
    auto by_id = r.match(Method::get, std::string("/things/") + kUuid);
    REQUIRE(by_id.route != nullptr);
    CHECK(by_id.route->pattern == "/things/{id:uuid}");
    CHECK(param(by_id, "id") == kUuid);
    auto by_slug = r.match(Method::get, "/things/red-shoes");
    REQUIRE(by_slug.route != nullptr);
    CHECK(by_slug.route->pattern == "/things/{slug}");
    CHECK(param(by_slug, "slug") == "red-shoes");
  }

  TEST_CASE("router: {n:int} matches decimal digits only") {
    Router r;
    r.get("/pages/{n:int}", Access::public_route, noop);
    auto m = r.match(Method::get, "/pages/42");
    REQUIRE(m.route != nullptr);
    CHECK(param(m, "n") == "42");
    CHECK(matched(r, Method::get, "/pages/0") == "/pages/{n:int}");
    CHECK(matched(r, Method::get, "/pages/123456789012345678") == "/pages/{n:int}");  // 18 digits
    for (const char* bad : {"/pages/-1", "/pages/4x", "/pages/x4", "/pages/1.5", "/pages/+1", "/pages/%31",
                            "/pages/1234567890123456789"}) {  // 19 digits could overflow an int64 parse
      CAPTURE(bad);
      CHECK(r.match(Method::get, bad).route == nullptr);
      CHECK(r.match(Method::get, bad).allowed.empty());
    }
  }

  TEST_CASE("router: several parameters are captured in order") {
    Router r;
    r.get("/shops/{shop}/items/{n:int}/reviews/{id:uuid}", Access::public_route, noop);
    auto m = r.match(Method::get, std::string("/shops/acme/items/7/reviews/") + kUuid);
    REQUIRE(m.route != nullptr);
    REQUIRE(m.params.size() == 3);
    CHECK(m.params[0] == std::pair<std::string, std::string>("shop", "acme"));
    CHECK(m.params[1] == std::pair<std::string, std::string>("n", "7"));
    CHECK(m.params[2] == std::pair<std::string, std::string>("id", kUuid));
  }

  TEST_CASE("router: a path that exists under other methods lists them for a 405") {
    Router r;
    r.get("/items", Access::public_route, noop);
    r.post("/items", Access::authenticated, noop);
    r.del("/items/{id}", Access::admin, noop);
    auto m = r.match(Method::del, "/items");
    CHECK(m.route == nullptr);
    CHECK(m.allowed.size() == 2);
    CHECK(allows(m, Method::get));
    CHECK(allows(m, Method::post));
    CHECK_FALSE(allows(m, Method::del));

    auto put = r.match(Method::put, "/items/5");
    CHECK(put.route == nullptr);
    REQUIRE(put.allowed.size() == 1);
    CHECK(put.allowed[0] == Method::del);

    auto other = r.match(Method::other, "/items");
    CHECK(other.route == nullptr);
    CHECK(other.allowed.size() == 2);

    auto opts = r.match(Method::options, "/items");
    CHECK(opts.route == nullptr);
    CHECK(opts.allowed.size() == 2);
  }

  TEST_CASE("router: HEAD is served by the GET route, and is not allowed where there is no GET") {
    Router r;
    r.get("/items", Access::public_route, noop);
    r.post("/orders", Access::public_route, noop);
    auto head = r.match(Method::head, "/items");
    REQUIRE(head.route != nullptr);
    CHECK(head.route->method == Method::get);
    auto no_get = r.match(Method::head, "/orders");
    CHECK(no_get.route == nullptr);
    CHECK(allows(no_get, Method::post));
  }

  TEST_CASE("router: registering the same method and path twice throws") {
    Router r;
    r.get("/items/{id}", Access::public_route, noop);
    CHECK_THROWS_AS(r.get("/items/{id}", Access::public_route, noop), std::invalid_argument);
    CHECK_NOTHROW(r.post("/items/{id}", Access::public_route, noop));
    // The same shape spelled with other slashes is the same route.
    CHECK_THROWS_AS(r.get("/items/{id}/", Access::public_route, noop), std::invalid_argument);
    CHECK(r.routes().size() == 2);
  }

  TEST_CASE("router: a route is found even when another shape of the same path comes first") {
    // GET /users/{id} and POST /users/{user_id} live in two trie nodes; POST /users/5 must still reach the
    // POST route instead of stopping at the GET node with a 405.
    Router r;
    r.get("/users/{id}", Access::public_route, noop);
    r.post("/users/{user_id}", Access::public_route, noop);
    auto post = r.match(Method::post, "/users/5");
    REQUIRE(post.route != nullptr);
    CHECK(post.route->pattern == "/users/{user_id}");
    CHECK(param(post, "user_id") == "5");
    CHECK(post.params.size() == 1);
    auto get = r.match(Method::get, "/users/5");
    REQUIRE(get.route != nullptr);
    CHECK(param(get, "id") == "5");

    // A typed and an untyped parameter: each method finds its own route, a third gets both in Allow.
    r.get("/x/{id:uuid}", Access::public_route, noop);
    r.post("/x/{slug}", Access::public_route, noop);
    CHECK(matched(r, Method::post, std::string("/x/") + kUuid) == "/x/{slug}");
    CHECK(matched(r, Method::get, std::string("/x/") + kUuid) == "/x/{id:uuid}");
    auto del = r.match(Method::del, std::string("/x/") + kUuid);
    CHECK(del.route == nullptr);
    CHECK(del.allowed == std::vector<Method>{Method::get, Method::post});
    CHECK(del.params.empty());
    auto del_slug = r.match(Method::del, "/x/plain");
    CHECK(del_slug.allowed == std::vector<Method>{Method::post});
  }

  TEST_CASE("router: the same method and shape under other parameter names is a duplicate") {
    Router r;
    r.get("/users/{id}", Access::public_route, noop);
    CHECK_THROWS_AS(r.get("/users/{uid}", Access::public_route, noop), std::invalid_argument);
    CHECK_NOTHROW(r.get("/users/{id:uuid}", Access::public_route, noop));  // another type: another shape
    // Different names in different shapes are fine: /users/{user_id}/orders is reached by backtracking.
    r.get("/users/{user_id}/orders", Access::public_route, noop);
    auto m = r.match(Method::get, "/users/5/orders");
    REQUIRE(m.route != nullptr);
    CHECK(param(m, "user_id") == "5");
    CHECK(matched(r, Method::get, "/users/5") == "/users/{id}");
  }

  TEST_CASE("router: an unknown parameter type is a registration error") {
    Router r;
    CHECK_THROWS_AS(r.get("/x/{id:float}", Access::public_route, noop), std::invalid_argument);
  }

  TEST_CASE("router: trailing and repeated slashes are ignored (documented behaviour)") {
    // Empty segments are dropped both when registering and when matching, so /items/, //items and
    // /items//5 reach the same routes as /items and /items/5. No redirect is sent.
    Router r;
    r.get("/items", Access::public_route, noop);
    r.get("/items/{id}", Access::public_route, noop);
    CHECK(matched(r, Method::get, "/items/") == "/items");
    CHECK(matched(r, Method::get, "//items") == "/items");
    CHECK(matched(r, Method::get, "/items//5") == "/items/{id}");
    CHECK(matched(r, Method::get, "/items/5/") == "/items/{id}");
    CHECK(matched(r, Method::get, "/items/5/6").empty());
  }

  TEST_CASE("router: matching is case-sensitive and keeps percent-encoding in parameters") {
    Router r;
    r.get("/items/{name}", Access::public_route, noop);
    CHECK(matched(r, Method::get, "/Items/x").empty());
    auto m = r.match(Method::get, "/items/red%20shoes");
    REQUIRE(m.route != nullptr);
    CHECK(param(m, "name") == "red%20shoes");
  }

  TEST_CASE("router: the root and unknown paths") {
    Router r;
    CHECK(r.match(Method::get, "/").route == nullptr);
    r.get("/", Access::public_route, noop);
    CHECK(matched(r, Method::get, "/") == "/");
    auto none = r.match(Method::get, "/nothing/here");
    CHECK(none.route == nullptr);
    CHECK(none.allowed.empty());
    // A prefix of a route is not a route.
    r.get("/a/b/c", Access::public_route, noop);
    CHECK(r.match(Method::get, "/a/b").route == nullptr);
    CHECK(r.match(Method::get, "/a/b").allowed.empty());
  }

  TEST_CASE("router: routes() lists every registration with its access level") {
    Router r;
    r.get("/a", Access::public_route, noop);
    r.post("/b", Access::authenticated, noop);
    r.patch("/c/{id:uuid}", Access::admin, noop);
    r.put("/d", Access::admin, noop);
    REQUIRE(r.routes().size() == 4);
    CHECK(r.routes()[0]->method == Method::get);
    CHECK(r.routes()[1]->access == Access::authenticated);
    CHECK(r.routes()[2]->pattern == "/c/{id:uuid}");
    CHECK(r.routes()[2]->access == Access::admin);
    CHECK(r.routes()[3]->method == Method::put);
  }

  TEST_CASE("router: method names convert both ways") {
    using bazaar::platform::http::method_from_string;
    using bazaar::platform::http::to_string;
    for (auto m : {Method::get, Method::head, Method::post, Method::put, Method::patch, Method::del, Method::options}) {
      CHECK(method_from_string(to_string(m)) == m);
    }
    CHECK(to_string(Method::del) == "DELETE");
    CHECK(method_from_string("get") == Method::other);  // methods are case-sensitive (RFC 9110)
    CHECK(method_from_string("BREW") == Method::other);
  }
}
