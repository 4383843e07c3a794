// The response cache in front of customer reads: hits are served from ready bytes, an admin write is
// visible to the very next read, the cache can be switched off, and with Redis the invalidation reaches
// other instances. Redis being unreachable never fails a request.
#include "catalog/catalog_support.hpp"

#include <platform/metrics.hpp>

#include <chrono>
#include <thread>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

// The value of a metric sample line "name{labels} value" in the rendered exposition, or -1.
double metric(TestApp& app, const std::string& sample) {
  const auto text = app.platform().metrics().render();
  const auto pos = text.find(sample + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + sample.size() + 1));
}

const char* const kHits = "bazaar_response_cache_hits_total{cache=\"catalog\"}";
const char* const kMisses = "bazaar_response_cache_misses_total{cache=\"catalog\"}";

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: repeated reads are cache hits, and an admin PATCH is visible to the very next read") {
    auto config = testing::test_config();
    config.set("catalog.cache_ttl_ms", 600000);  // long enough that only invalidation can explain a change
    TestApp app(config);
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Cached Kettle " + testing::unique_suffix(), {3900});
    const auto id = str(product.at("id"));
    const auto suffix = str(product.at("slug")).substr(14);  // "cached-kettle-<suffix>"
    const auto list_url = "/api/v1/products?q=" + suffix;

    auto first = app.http().get("/api/v1/products/" + id);
    REQUIRE(first.status == 200);
    const double hits = metric(app, kHits);
    const double misses = metric(app, kMisses);
    auto second = app.http().get("/api/v1/products/" + id);
    CHECK(second.body == first.body);
    CHECK(metric(app, kHits) == hits + 1);
    CHECK(metric(app, kMisses) == misses);
    const auto listed = app.http().get(list_url).json();
    REQUIRE(ids_of(listed) == std::vector<std::string>{id});

    auto patched = send_json(app, "PATCH", "/admin/v1/products/" + id, json::object{{"title", "Renamed Kettle " + suffix}}, admin);
    REQUIRE(patched.status == 200);
    CHECK(app.http().get("/api/v1/products/" + id).json().at("title") == json::value("Renamed Kettle " + suffix));
    CHECK(app.http().get(list_url).json().at("items").as_array().at(0).at("title") == json::value("Renamed Kettle " + suffix));

    // Stock and price changes by admins are writes too.
    const auto variant = str(product.at("variants").as_array()[0].at("id"));
    REQUIRE(send_json(app, "PUT", "/admin/v1/variants/" + variant + "/stock", json::object{{"on_hand", 42}}, admin).status == 200);
    CHECK(app.http().get("/api/v1/products/" + id).json().at("variants").as_array()[0].at("available") == 42);
    REQUIRE(send_json(app, "PATCH", "/admin/v1/products/" + id, json::object{{"status", "draft"}}, admin).status == 200);
    CHECK(app.http().get("/api/v1/products/" + id).status == 404);
    CHECK(app.http().get(list_url).json().at("items").as_array().empty());

    // Categories are cached and invalidated the same way.
    const auto before = app.http().get("/api/v1/categories").body;
    CHECK(app.http().get("/api/v1/categories").body == before);
    auto category = create_category(app, admin, "Cached Category " + testing::unique_suffix());
    CHECK(app.http().get("/api/v1/categories").body.find(str(category.at("id"))) != std::string::npos);
  }

  TEST_CASE("catalog: with the cache switched off every read asks the database") {
    auto config = testing::test_config();
    config.set("catalog.cache_enabled", false);
    TestApp app(config);
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Uncached Kettle " + testing::unique_suffix(), {3900});
    const auto id = str(product.at("id"));
    const double hits = metric(app, kHits);
    for (int i = 0; i < 3; ++i) CHECK(app.http().get("/api/v1/products/" + id).status == 200);
    CHECK(metric(app, kHits) == hits);
    // Direct database changes (which bypass the invalidation) are seen at once.
    exec(app, "UPDATE catalog.products SET title = 'Changed Underneath' WHERE id = CAST(:id AS uuid)", id);
    CHECK(app.http().get("/api/v1/products/" + id).json().at("title") == "Changed Underneath");
  }

  TEST_CASE("catalog: cached entries expire after the configured TTL") {
    auto config = testing::test_config();
    config.set("catalog.cache_ttl_ms", 50);
    TestApp app(config);
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Short-lived " + testing::unique_suffix(), {100});
    const auto id = str(product.at("id"));
    REQUIRE(app.http().get("/api/v1/products/" + id).status == 200);
    exec(app, "UPDATE catalog.products SET title = 'Expired Title' WHERE id = CAST(:id AS uuid)", id);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string title;
    while (std::chrono::steady_clock::now() < deadline) {
      title = str(app.http().get("/api/v1/products/" + id).json().at("title"));
      if (title == "Expired Title") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(title == "Expired Title");
  }

  TEST_CASE("catalog: an admin write on one instance invalidates the other instances' caches through Redis") {
    auto config = testing::test_config();
    config.set("redis.url", boost::json::string(testing::redis_url()));
    config.set("catalog.cache_ttl_ms", 600000);
    TestApp a(config);
    TestApp b(config);
    const auto admin = admin_token(a);
    auto product = published_product(a, admin, "Shared Teapot " + testing::unique_suffix(), {2500});
    const auto id = str(product.at("id"));
    REQUIRE(b.http().get("/api/v1/products/" + id).status == 200);  // cached on b
    REQUIRE(send_json(a, "PATCH", "/admin/v1/products/" + id, json::object{{"title", "Teapot, renamed"}}, admin).status == 200);
    CHECK(a.http().get("/api/v1/products/" + id).json().at("title") == "Teapot, renamed");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string title;
    while (std::chrono::steady_clock::now() < deadline) {
      title = str(b.http().get("/api/v1/products/" + id).json().at("title"));
      if (title == "Teapot, renamed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(title == "Teapot, renamed");
  }

  TEST_CASE("catalog: an unreachable Redis never fails a read or a write") {
    auto config = testing::test_config();
    config.set("redis.url", "redis://127.0.0.1:1/0");
    TestApp app(config);
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Resilient Jug " + testing::unique_suffix(), {900});
    const auto id = str(product.at("id"));
    CHECK(app.http().get("/api/v1/products/" + id).status == 200);
    REQUIRE(send_json(app, "PATCH", "/admin/v1/products/" + id, json::object{{"title", "Jug"}}, admin).status == 200);
    CHECK(app.http().get("/api/v1/products/" + id).json().at("title") == "Jug");
  }
}
