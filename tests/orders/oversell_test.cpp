// Oversell under real concurrency: 100 guests check out one unit each, at once, of a variant with 10 in
// stock. Exactly 10 orders are paid, stock ends at exactly 0, and every other checkout is 409.
#include "orders/orders_support.hpp"

#include <atomic>
#include <functional>
#include <thread>

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::new_admin;
using testing::new_product;
using testing::stock_level;

namespace {

// Runs `job(i)` for i in [0, n) on `threads` client threads.
void parallel_for(int n, int threads, const std::function<void(int)>& job) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) job(i);
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: 100 concurrent checkouts of a variant with 10 in stock make exactly 10 paid orders") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 999, 10);
    constexpr int kBuyers = 100;

    // Every guest's cart is ready before anyone checks out.
    std::vector<std::string> carts(kBuyers);
    parallel_for(kBuyers, 16, [&](int i) {
      auto c = app.http().post_json("/api/v1/carts", json::object{});
      REQUIRE(c.status == 201);
      const std::string id = str(c.json().at("id"));
      auto add = app.http().post_json("/api/v1/carts/" + id + "/items",
                                      json::object{{"variant_id", product.variant_id}, {"quantity", 1}});
      REQUIRE_MESSAGE(add.status == 200, add.body);
      carts[static_cast<std::size_t>(i)] = id;
    });

    std::vector<HttpResponse> responses(kBuyers);
    const auto started = std::chrono::steady_clock::now();
    parallel_for(kBuyers, 32, [&](int i) {
      const auto& cart = carts[static_cast<std::size_t>(i)];
      responses[static_cast<std::size_t>(i)] =
          testing::place_order(app, testing::checkout_body(cart, "tok_visa", guest_email()), {}, key("oversell"));
    });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    MESSAGE("100 concurrent checkouts took " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                             << " ms");

    int paid = 0, refused = 0;
    for (const auto& r : responses) {
      if (r.status == 201) {
        CHECK(r.json().at("status") == "paid");
        ++paid;
      } else if (r.status == 409) {
        CHECK(problem_code(r) == "insufficient_stock");
        ++refused;
      } else {
        FAIL_CHECK("unexpected response " << r.status << " " << r.body);
      }
    }
    CHECK(paid == 10);
    CHECK(refused == kBuyers - 10);
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 0);
    CHECK(level.reserved == 0);
    long long paid_rows = 0, other_rows = 0;
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT count(*) FILTER (WHERE o.status = 'paid'), count(*) FILTER (WHERE o.status <> 'paid') "
           "FROM orders.orders o JOIN orders.order_lines l ON l.order_id = o.id WHERE l.variant_id = CAST(:p AS uuid)",
          soci::use(product.variant_id, "p"), soci::into(paid_rows), soci::into(other_rows);
    });
    CHECK(paid_rows == 10);
    CHECK(other_rows == 0);  // a refused checkout leaves no order behind
    CHECK(scalar<long long>(app,
                            "SELECT coalesce(sum(quantity), 0) FROM catalog.reservations "
                            "WHERE variant_id = CAST(:p AS uuid) AND status = 'confirmed'",
                            product.variant_id) == 10);
  }
}
