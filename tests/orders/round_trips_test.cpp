// The checkout's SQL round-trip budget (issue: <= 8 per checkout), counted at the database's socket
// (support/round_trips.hpp). Cart snapshot, reservation with prices, order + OrderPlaced, payment,
// paid + OrderPaid, stock confirmation with cart completion (two modules' calls sent together: one flight),
// saga bookkeeping: 7. An Idempotency-Key adds the platform's claim; the stored response travels with the
// saga bookkeeping (platform/idempotency.hpp): 8. Other keyed POSTs pay the claim and the store, 2.
#include "orders/orders_support.hpp"

#include "support/round_trips.hpp"

#include <functional>

using namespace bazaar;
using namespace bazaar::orders_test;

namespace {

struct Shop {
  explicit Shop(const std::function<void(platform::Config&)>& customize = {}) : probe(customize) {}
  testing::RoundTripApp probe;
  Shopper admin = testing::new_admin(probe.app());
  Stock first = testing::new_product(probe.app(), admin, 1200, 1000);
  Stock second = testing::new_product(probe.app(), admin, 800, 1000);
  std::string email = guest_email();  // one for every checkout: a replay must send the same body

  std::string guest_cart() { return testing::new_cart(probe.app(), {}, {{first.variant_id, 2}, {second.variant_id, 1}}); }
  HttpResponse checkout(const std::string& cart, const std::string& idempotency_key) {
    const auto body = testing::checkout_body(cart, "tok_visa", email);
    if (!idempotency_key.empty()) return testing::place_order(probe.app(), body, {}, idempotency_key);
    return probe.http().post_json("/api/v1/orders", body);
  }
};

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: a paid guest checkout of two lines takes at most 8 SQL round trips, with or without a key") {
    Shop shop;
    REQUIRE(shop.checkout(shop.guest_cart(), key("warm-up")).status == 201);  // prepares the statements

    const auto cart = shop.guest_cart();
    HttpResponse placed;
    const auto saga = shop.probe.count([&] { placed = shop.checkout(cart, {}); });
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    CHECK(str(placed.json().at("status")) == "paid");
    MESSAGE("checkout without a key: " << saga << " SQL round trips");
    CHECK(saga <= 8);

    const auto keyed_cart = shop.guest_cart();
    const auto counted = key("counted");
    const auto keyed = shop.probe.count([&] { placed = shop.checkout(keyed_cart, counted); });
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    MESSAGE("checkout with an Idempotency-Key: " << keyed << " SQL round trips");
    CHECK(keyed <= 8);

    // The response stored with the last write is the one replayed: the claim reads it, one round trip.
    const auto first = placed;
    const auto replay_trips = shop.probe.count([&] { placed = shop.checkout(keyed_cart, counted); });
    CHECK(placed.status == 201);
    CHECK(placed.body == first.body);
    CHECK(placed.header("Idempotent-Replayed") == "true");
    CHECK(replay_trips == 1);

    // What the budget bought is all there: stock confirmed, the cart completed, the saga finished.
    const auto level = testing::stock_level(shop.probe.app(), shop.first.variant_id);
    CHECK(level.on_hand == 1000 - 3 * 2);
    CHECK(level.reserved == 0);
    auto cart_after = shop.probe.http().get("/api/v1/carts/" + cart);
    CHECK(cart_after.status == 200);
    CHECK(str(cart_after.json().at("status")) == "completed");
    CHECK(scalar<std::string>(shop.probe.app(),
                              "SELECT stock_state || ' ' || cart_completed::text FROM orders.orders WHERE id = CAST(:p AS uuid)",
                              str(first.json().at("id"))) == "confirmed true");
  }
}

namespace {

// While it lives, every other pending event and notification delivery in the shared test database is
// parked far in the future, so that draining and sending touch this order's only (and are counted alone).
class OnlyThisOrder {
 public:
  OnlyThisOrder(TestApp& app, const std::string& order_id) : app_(app) {
    app_.platform().db().run_sync([&](soci::session& s) {
      s << R"sql(UPDATE platform.outbox SET next_attempt_at = next_attempt_at + interval '1000 years'
                 WHERE status = 'pending' AND aggregate_id <> :a AND next_attempt_at < now() + interval '500 years')sql",
          soci::use(order_id);
      s << R"sql(UPDATE notifications.deliveries SET next_attempt_at = next_attempt_at + interval '1000 years'
                 WHERE status IN ('pending', 'failed') AND next_attempt_at < now() + interval '500 years'
                   AND event_id NOT IN (SELECT id FROM platform.outbox WHERE aggregate_id = :a))sql",
          soci::use(order_id);
    });
  }
  ~OnlyThisOrder() {
    app_.platform().db().run_sync([](soci::session& s) {
      s << R"sql(UPDATE platform.outbox SET next_attempt_at = next_attempt_at - interval '1000 years'
                 WHERE next_attempt_at > now() + interval '500 years')sql";
      s << R"sql(UPDATE notifications.deliveries SET next_attempt_at = next_attempt_at - interval '1000 years'
                 WHERE next_attempt_at > now() + interval '500 years')sql";
    });
  }
  OnlyThisOrder(const OnlyThisOrder&) = delete;
  OnlyThisOrder& operator=(const OnlyThisOrder&) = delete;

 private:
  TestApp& app_;
};

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: what a checkout's events cost to deliver (order placed, order paid → one email)") {
    // The test sends by running the delivery job; a background pass woken by the commit would be counted
    // with it.
    Shop shop([](platform::Config& c) { c.set("notifications.wake_on_commit", false); });
    auto& app = shop.probe.app();
    const auto warm = shop.checkout(shop.guest_cart(), key("warm-up"));
    REQUIRE(warm.status == 201);
    {
      OnlyThisOrder only(app, str(warm.json().at("id")));
      app.platform().drain_events();
      testing::run_job(app, "notifications-delivery");
    }

    const auto placed = shop.checkout(shop.guest_cart(), key("events"));
    REQUIRE(placed.status == 201);
    OnlyThisOrder only(app, str(placed.json().at("id")));
    std::size_t delivered = 0;
    const auto dispatch = shop.probe.count([&] { delivered = app.platform().drain_events(); });
    const auto send = shop.probe.count([&] { testing::run_job(app, "notifications-delivery"); });
    MESSAGE("delivering a checkout's " << delivered << " events: " << dispatch << " SQL round trips, sending its email: " << send);
    CHECK(delivered == 2);
    // Claim; both events in one transaction (BEGIN, one inbox insert, the handlers' statements, the close,
    // COMMIT); the last (empty) claim: 8 measured.
    CHECK(dispatch <= 10);
    CHECK(send <= 8);  // claims per channel, the send's bookkeeping: 5–6 measured
  }
}
