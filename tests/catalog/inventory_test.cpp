// The Inventory and Queries facades against the real PostgreSQL: all-or-nothing reservations that never
// oversell under concurrency, idempotency per order, confirm/release/restock, expiry through the
// sweeper, low-stock announcements, and the cart's batch look-up.
#include "catalog/catalog_support.hpp"
#include "inventory.hpp"
#include "repository.hpp"

#include <platform/ids.hpp>

#include <atomic>
#include <map>
#include <thread>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

using std::chrono::seconds;

struct Stock {
  int on_hand = 0;
  int reserved = 0;
};

Stock stock_of(TestApp& app, const std::string& variant_id) {
  Stock s;
  app.platform().db().run_sync([&](soci::session& session) {
    session << "SELECT on_hand, reserved FROM catalog.variants WHERE id = CAST(:id AS uuid)", soci::use(variant_id),
        soci::into(s.on_hand), soci::into(s.reserved);
  });
  return s;
}

std::string reservation_status(TestApp& app, const std::string& order_id, const std::string& variant_id) {
  std::string status;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT status FROM catalog.reservations WHERE order_id = CAST(:o AS uuid) AND variant_id = CAST(:v AS uuid)",
        soci::use(order_id), soci::use(variant_id), soci::into(status);
  });
  return status;
}

// A published product with one variant per entry of `stock`; returns the variant ids.
std::vector<std::string> variants_with_stock(TestApp& app, const std::string& admin, const std::vector<int>& stock) {
  auto product = create_product(app, admin, {{"title", "Stocked " + testing::unique_suffix()}, {"status", "published"}});
  std::vector<std::string> ids;
  for (int on_hand : stock) {
    ids.push_back(str(add_variant(app, admin, str(product.at("id")), "INV-" + testing::unique_suffix(), 1000, on_hand).at("id")));
  }
  return ids;
}

catalog::InventoryService& inventory(TestApp& app) {
  return dynamic_cast<catalog::InventoryService&>(catalog_module(app).inventory());
}

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: 50 parallel reservations for a variant with 10 in stock reserve exactly 10 units") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto variant = variants_with_stock(app, admin, {10}).at(0);
    auto& inv = inventory(app);
    std::atomic<int> reserved{0};
    std::atomic<int> refused{0};
    std::atomic<int> bad_reports{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 50; ++i) {
      threads.emplace_back([&] {
        auto outcome = testing::run_awaitable(inv.reserve(platform::new_uuid_v7(), {{variant, 1}}, seconds(600)));
        if (outcome.reserved) {
          ++reserved;
        } else {
          ++refused;
          if (outcome.shortages.size() != 1 || outcome.shortages[0].variant_id != variant ||
              outcome.shortages[0].requested != 1 || outcome.shortages[0].available != 0) {
            ++bad_reports;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(reserved == 10);
    CHECK(refused == 40);
    CHECK(bad_reports == 0);
    const auto s = stock_of(app, variant);
    CHECK(s.on_hand == 10);
    CHECK(s.reserved == 10);
    CHECK(scalar(app, "SELECT count(*) FROM catalog.reservations WHERE variant_id = CAST(:v AS uuid) AND status = 'held'",
                 variant) == 10);
    // Customers see nothing left, never a negative number.
    auto snapshot = testing::run_awaitable(catalog_module(app).queries().variants({variant}));
    REQUIRE(snapshot.size() == 1);
    CHECK(snapshot[0].available == 0);
  }

  TEST_CASE("catalog: reservations and price look-ups cost the same to the planner for any number of lines") {
    // PostgreSQL plans a prepared statement's first five runs for their values, then keeps one generic plan
    // unless those custom plans looked cheaper. Given arrays it could count, they always did (1–3 lines
    // against a generic guess of 10), and it planned every checkout and every add-to-cart anew, taking
    // longer than running them. So a custom plan must cost the same whatever the number of lines.
    auto config = testing::test_config();
    config.set("database.pool_size", 1);          // one session: the statements are prepared where we look
    config.set("database.async_connections", 0);  // (no I/O-thread connections)
    TestApp app(config);
    const auto admin = admin_token(app);
    const auto v = variants_with_stock(app, admin, {1000, 1000, 1000});
    auto& db = app.platform().db();
    CHECK(testing::run_awaitable(catalog::repo::reserve(db, platform::new_uuid_v7(), {{v[0], 1}}, 600)).reserved);
    CHECK(testing::run_awaitable(catalog::repo::variant_snapshots(db, v)).size() == 3);

    auto custom_cost = [&](const std::string& execute) {
      std::string plan;
      db.run_sync([&](soci::session& s) {
        s << "SET plan_cache_mode = force_custom_plan";
        s << "EXPLAIN (FORMAT JSON) " + execute, soci::into(plan);
        s << "RESET plan_cache_mode";
      });
      return boost::json::parse(plan).at(0).at("Plan").at("Total Cost").to_number<double>();
    };
    const std::string one = "'{" + v[0] + "}'", three = "'{" + v[0] + "," + v[1] + "," + v[2] + "}'";
    const std::string order = "'" + platform::new_uuid_v7() + "'";
    CHECK(custom_cost("EXECUTE catalog_reserve_v3(" + order + ", " + one + ", '{1}', 600)") ==
          custom_cost("EXECUTE catalog_reserve_v3(" + order + ", " + three + ", '{1,1,1}', 600)"));
    CHECK(custom_cost("EXECUTE catalog_variant_snapshots_v2(" + one + ")") ==
          custom_cost("EXECUTE catalog_variant_snapshots_v2(" + three + ")"));
  }

  TEST_CASE("catalog: a reservation takes every line or none and reports what was short") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto v = variants_with_stock(app, admin, {5, 1});
    auto& inv = inventory(app);
    const auto order = platform::new_uuid_v7();
    auto outcome = testing::run_awaitable(inv.reserve(order, {{v[0], 2}, {v[1], 2}}, seconds(600)));
    CHECK_FALSE(outcome.reserved);
    REQUIRE(outcome.shortages.size() == 1);
    CHECK(outcome.shortages[0].variant_id == v[1]);
    CHECK(outcome.shortages[0].requested == 2);
    CHECK(outcome.shortages[0].available == 1);
    CHECK(stock_of(app, v[0]).reserved == 0);  // rolled back
    CHECK(scalar(app, "SELECT count(*) FROM catalog.reservations WHERE order_id = CAST(:o AS uuid)", order) == 0);

    // Repeated lines of one variant add up; unknown and malformed variants are shortages.
    auto merged = testing::run_awaitable(inv.reserve(order, {{v[0], 3}, {v[0], 3}}, seconds(600)));
    CHECK_FALSE(merged.reserved);
    REQUIRE(merged.shortages.size() == 1);
    CHECK(merged.shortages[0].requested == 6);
    CHECK(merged.shortages[0].available == 5);
    const auto ghost = platform::new_uuid_v7();
    auto unknown = testing::run_awaitable(inv.reserve(order, {{v[0], 1}, {ghost, 1}}, seconds(600)));
    CHECK_FALSE(unknown.reserved);
    REQUIRE(unknown.shortages.size() == 1);
    CHECK(unknown.shortages[0].variant_id == ghost);
    CHECK(unknown.shortages[0].available == 0);
    CHECK_FALSE(testing::run_awaitable(inv.reserve(order, {{"not-a-uuid", 1}}, seconds(600))).reserved);
    CHECK_THROWS_AS(testing::run_awaitable(inv.reserve(order, {{v[0], 0}}, seconds(600))), std::invalid_argument);
    CHECK_THROWS_AS(testing::run_awaitable(inv.reserve("order-1", {{v[0], 1}}, seconds(600))), std::invalid_argument);

    auto ok = testing::run_awaitable(inv.reserve(order, {{v[0], 5}, {v[1], 1}}, seconds(600)));
    CHECK(ok.reserved);
    CHECK(ok.shortages.empty());
    CHECK(stock_of(app, v[0]).reserved == 5);
    CHECK(stock_of(app, v[1]).reserved == 1);
  }

  TEST_CASE("catalog: reserve, confirm, release and restock are idempotent per order") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto v = variants_with_stock(app, admin, {10}).at(0);
    auto& inv = inventory(app);
    const auto order = platform::new_uuid_v7();

    REQUIRE(testing::run_awaitable(inv.reserve(order, {{v, 4}}, seconds(600))).reserved);
    // A retried reserve (same order) succeeds without reserving again.
    REQUIRE(testing::run_awaitable(inv.reserve(order, {{v, 4}}, seconds(600))).reserved);
    CHECK(stock_of(app, v).reserved == 4);

    testing::run_awaitable(inv.confirm(order));
    testing::run_awaitable(inv.confirm(order));
    CHECK(stock_of(app, v).on_hand == 6);
    CHECK(stock_of(app, v).reserved == 0);
    CHECK(reservation_status(app, order, v) == "confirmed");
    REQUIRE(testing::run_awaitable(inv.reserve(order, {{v, 4}}, seconds(600))).reserved);  // still this order's
    CHECK(stock_of(app, v).reserved == 0);

    testing::run_awaitable(inv.release(order));  // confirmed: release does nothing
    CHECK(stock_of(app, v).on_hand == 6);
    CHECK(reservation_status(app, order, v) == "confirmed");

    testing::run_awaitable(inv.restock(order));
    testing::run_awaitable(inv.restock(order));
    CHECK(stock_of(app, v).on_hand == 10);
    CHECK(reservation_status(app, order, v) == "released");

    // A held reservation released twice frees its units once.
    const auto other = platform::new_uuid_v7();
    REQUIRE(testing::run_awaitable(inv.reserve(other, {{v, 3}}, seconds(600))).reserved);
    testing::run_awaitable(inv.release(other));
    testing::run_awaitable(inv.release(other));
    CHECK(stock_of(app, v).reserved == 0);
    CHECK(stock_of(app, v).on_hand == 10);
    testing::run_awaitable(inv.confirm(other));  // released: confirm does nothing
    CHECK(stock_of(app, v).on_hand == 10);
    testing::run_awaitable(inv.restock(other));  // never confirmed: restock does nothing
    CHECK(stock_of(app, v).on_hand == 10);
    // A released order can reserve again (a retried checkout after expiry).
    REQUIRE(testing::run_awaitable(inv.reserve(other, {{v, 2}}, seconds(600))).reserved);
    CHECK(stock_of(app, v).reserved == 2);
    CHECK(reservation_status(app, other, v) == "held");
  }

  TEST_CASE("catalog: the sweeper releases reservations past their expiry, and only those") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto v = variants_with_stock(app, admin, {10}).at(0);
    auto& inv = inventory(app);
    const auto expired = platform::new_uuid_v7();
    const auto live = platform::new_uuid_v7();
    REQUIRE(testing::run_awaitable(inv.reserve(expired, {{v, 3}}, seconds(600))).reserved);
    REQUIRE(testing::run_awaitable(inv.reserve(live, {{v, 2}}, seconds(600))).reserved);
    CHECK(stock_of(app, v).reserved == 5);
    exec(app, "UPDATE catalog.reservations SET expires_at = now() - interval '1 minute' WHERE order_id = CAST(:o AS uuid)",
         expired);

    CHECK(testing::run_awaitable(inv.sweep_expired()) >= 1);
    CHECK(stock_of(app, v).reserved == 2);
    CHECK(reservation_status(app, expired, v) == "released");
    CHECK(reservation_status(app, live, v) == "held");
    testing::run_awaitable(inv.sweep_expired());
    CHECK(stock_of(app, v).reserved == 2);  // nothing more to sweep here
    testing::run_awaitable(inv.confirm(expired));  // too late: released, confirm is a no-op
    CHECK(stock_of(app, v).on_hand == 10);
  }

  TEST_CASE("catalog: a confirmed sale that leaves little stock announces catalog.stock_low") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto v = variants_with_stock(app, admin, {8}).at(0);
    auto& inv = inventory(app);
    const auto small = platform::new_uuid_v7();
    REQUIRE(testing::run_awaitable(inv.reserve(small, {{v, 2}}, seconds(600))).reserved);
    testing::run_awaitable(inv.confirm(small));  // 6 left: above the threshold of 5
    CHECK(accounts_test::events_of_type(app, v, "catalog.stock_low").empty());
    const auto big = platform::new_uuid_v7();
    REQUIRE(testing::run_awaitable(inv.reserve(big, {{v, 2}}, seconds(600))).reserved);
    testing::run_awaitable(inv.confirm(big));  // 4 left
    auto lows = accounts_test::events_of_type(app, v, "catalog.stock_low");
    REQUIRE(lows.size() == 1);
    CHECK(lows[0].payload.at("available") == 4);
    CHECK(lows[0].payload.at("variant_id") == json::value(v));
    CHECK(str(lows[0].payload.at("title")).find("Stocked ") == 0);
  }

  TEST_CASE("catalog: the Queries facade gives current price and availability of many variants at once") {
    TestApp app;
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Queried Mug " + testing::unique_suffix(), {1500, 1700}, 4);
    const auto& vs = product.at("variants").as_array();
    const auto a = str(vs[0].at("id"));
    const auto b = str(vs[1].at("id"));
    auto draft = create_product(app, admin, {{"title", "Draft Mug " + testing::unique_suffix()}});
    const auto d = str(add_variant(app, admin, str(draft.at("id")), "Q-" + testing::unique_suffix(), 999, 1).at("id"));
    REQUIRE(testing::run_awaitable(inventory(app).reserve(platform::new_uuid_v7(), {{a, 3}}, seconds(600))).reserved);

    std::string upper_b = b;
    for (auto& c : upper_b) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto snapshots = testing::run_awaitable(
        catalog_module(app).queries().variants({a, upper_b, d, platform::new_uuid_v7(), "garbage", a}));
    REQUIRE(snapshots.size() == 3);
    std::map<std::string, catalog::VariantSnapshot> by_id;
    for (auto& s : snapshots) by_id[s.variant_id] = s;
    CHECK(by_id.at(a).available == 1);
    CHECK(by_id.at(a).price == platform::Money{1500, "EUR"});
    CHECK(by_id.at(a).purchasable);
    CHECK(json::value(by_id.at(a).product_id) == product.at("id"));
    CHECK(by_id.at(a).title == str(product.at("title")) + " — " + str(vs[0].at("title")));
    CHECK(by_id.at(b).available == 4);
    CHECK(by_id.at(b).sku == str(vs[1].at("sku")));
    CHECK_FALSE(by_id.at(d).purchasable);
    CHECK(testing::run_awaitable(catalog_module(app).queries().variants({})).empty());
  }
}
