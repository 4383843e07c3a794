// A checkout whose order is settled elsewhere while its payment is being authorised. The checkout marks the
// order paid in one batch that expects it still pending (Service::mark_paid_at_checkout); when the
// reconciler, the customer or a webhook settled it first, that batch changes nothing and the checkout falls
// back to mark_paid, which re-reads the order under lock and leaves a settled order as it is. The provider
// hook (authorization_hook.hpp) puts the other path exactly between "order created" and "payment
// authorised"; then the response, the stored order, its history and events, the stock, the cart and the
// provider's ledger must all tell the same story.
#include "orders/authorization_hook.hpp"

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::checkout_body;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;
using testing::place_order;
using testing::run_job;
using testing::send_payment_webhook;
using testing::stock_level;
using Moment = AuthorizationHook::Moment;

namespace {

constexpr int kOnHand = 10;
constexpr int kQuantity = 2;

// The application with its payment provider behind `hook`, an admin, a customer and a product.
struct HookedShop {
  std::shared_ptr<AuthorizationHook> hook = std::make_shared<AuthorizationHook>();
  TestApp app;
  Shopper admin;
  Shopper customer;
  Stock product;

  explicit HookedShop(platform::Config config = testing::test_config())
      : app(std::move(config), [this](bazaar::app::Application& a) { hook->install(a); }),
        admin(new_admin(app)),
        customer(new_customer(app)),
        product(new_product(app, admin, 1000, kOnHand)) {}

  std::string cart() { return new_cart(app, customer.token, {{product.variant_id, kQuantity}}); }
  HttpResponse checkout(const std::string& cart_id, const std::string& tag) {
    return place_order(app, checkout_body(cart_id, "tok_visa"), customer.token, key(tag));
  }
};

// The test provider's ledger row for an order (orders.test_payments).
struct Ledger {
  long long rows = 0;
  std::string outcome;
  long long amount = 0;
  long long captured = 0;
  long long refunded = 0;
};

Ledger ledger(TestApp& app, const std::string& order_id) {
  Ledger l;
  l.rows = scalar<long long>(app, "SELECT count(*) FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)",
                             order_id);
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT outcome, amount, captured, refunded FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)",
        soci::use(order_id, "p"), soci::into(l.outcome), soci::into(l.amount), soci::into(l.captured),
        soci::into(l.refunded);
  });
  return l;
}

std::string order_field(TestApp& app, const std::string& order_id, const std::string& column) {
  return scalar<std::string>(app, "SELECT " + column + "::text FROM orders.orders WHERE id = CAST(:p AS uuid)",
                             order_id);
}

// The statuses of an order's reservation rows, e.g. "released" (one distinct status expected).
std::string reservation_status(TestApp& app, const std::string& order_id) {
  return scalar<std::string>(app,
                             "SELECT coalesce(string_agg(DISTINCT status, ','), '') FROM catalog.reservations "
                             "WHERE order_id = CAST(:p AS uuid)",
                             order_id);
}

std::vector<std::string> history_statuses(const json::object& admin_doc) {
  std::vector<std::string> out;
  for (const auto& h : admin_doc.at("history").as_array()) out.push_back(str(h.at("status")));
  return out;
}

std::uint64_t paid_counter(TestApp& app) {
  return app.platform().metrics().counter("bazaar_orders_paid_total", "Orders paid").value();
}

std::uint64_t revenue_counter(TestApp& app) {
  return app.platform()
      .metrics()
      .counter("bazaar_revenue_minor_units_total", "Revenue of paid orders, minor units")
      .value();
}

// What a checkout whose order was cancelled during its payment leaves behind: the response is the stored
// order, cancelled and not paid; no paid transition, no OrderPaid; the stock back on sale; the cart open
// for another attempt. (What became of the money is the caller's to check: it depends on the capture mode.)
void check_cancelled_not_paid(HookedShop& s, const HttpResponse& checkout, const std::string& order_id,
                              const std::string& cart_id, const std::string& reason) {
  REQUIRE_MESSAGE(checkout.status == 201, checkout.body);
  const auto body = checkout.json().as_object();
  CHECK(body.at("id") == json::value(order_id));
  CHECK(body.at("status") == "cancelled");
  CHECK(body.at("payment_status") == "failed");

  const auto stored = admin_order(s.app, s.admin, order_id);
  CHECK(stored.at("status") == body.at("status"));
  CHECK(stored.at("payment_status") == body.at("payment_status"));
  CHECK(stored.at("updated_at") == body.at("updated_at"));  // the order as stored, not the checkout's stale copy
  CHECK(history_statuses(stored) == std::vector<std::string>{"pending_payment", "cancelled"});
  CHECK(str(stored.at("history").as_array().back().at("note")).find(reason) != std::string::npos);
  CHECK(event_types(s.app, order_id) == std::vector<std::string>{"orders.order_placed", "orders.order_cancelled"});
  CHECK(event_payload(s.app, order_id, "orders.order_cancelled").at("reason") == json::value(reason));

  const auto level = stock_level(s.app, s.product.variant_id);
  CHECK(level.on_hand == kOnHand);
  CHECK(level.reserved == 0);
  CHECK(order_field(s.app, order_id, "stock_state") == "released");
  CHECK(reservation_status(s.app, order_id) == "released");
  CHECK(cart_status(s.app, cart_id) == "open");
  CHECK(paid_counter(s.app) == 0);
}

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: the reconciler cancels an order before the provider has its payment: cancelled, not charged") {
    // The provider answers late: the order outlives the payment timeout, the reconciler asks the provider,
    // finds no payment, cancels the order; then the provider takes the money and the checkout hears of it.
    std::string capture = "immediate";
    std::string ledger_outcome = "refunded";
    SUBCASE("captured at once: the capture is refunded") {}
    SUBCASE("capture on ship: the authorisation is voided") {
      capture = "on_ship";
      ledger_outcome = "failed";
    }
    auto config = testing::test_config();
    config.set("payments.capture", boost::json::string(capture));
    HookedShop s(std::move(config));
    const auto cart = s.cart();
    std::string order_id;
    s.hook->arm(Moment::before_provider, [&](const orders::payments::AuthorizeRequest& rq) {
      order_id = rq.order_id;
      age_past_payment_timeout(s.app, rq.order_id);
      run_job(s.app, "orders-reconcile");
    });

    auto checkout = s.checkout(cart, "reconciled-first");

    REQUIRE(s.hook->fired() == 1);
    check_cancelled_not_paid(s, checkout, order_id, cart, "payment_timeout");
    // The payment the provider took after the reconciler looked is given back.
    const auto money = ledger(s.app, order_id);
    CHECK(money.rows == 1);
    CHECK(money.outcome == ledger_outcome);
    CHECK(money.amount == num(checkout.json().at("total").at("amount")));
    CHECK(money.captured == (capture == "immediate" ? money.amount : 0));
    CHECK(money.refunded == money.captured);

    // Nothing is left for the reconciler: running it again changes nothing.
    run_job(s.app, "orders-reconcile");
    CHECK(admin_order(s.app, s.admin, order_id).at("history").as_array().size() == 2);
    CHECK(stock_level(s.app, s.product.variant_id).reserved == 0);
    CHECK(ledger(s.app, order_id).outcome == ledger_outcome);
  }

  TEST_CASE("orders: the customer cancels an order whose payment the provider has captured: cancelled and refunded") {
    HookedShop s;
    const auto cart = s.cart();
    std::string order_id;
    std::optional<HttpResponse> cancelled;
    s.hook->arm(Moment::after_provider, [&](const orders::payments::AuthorizeRequest& rq) {
      order_id = rq.order_id;
      cancelled = cancel(s.app, rq.order_id, s.customer.token);
    });

    auto checkout = s.checkout(cart, "customer-first");

    REQUIRE(s.hook->fired() == 1);
    REQUIRE(cancelled);
    REQUIRE_MESSAGE(cancelled->status == 200, cancelled->body);
    CHECK(cancelled->json().at("status") == "cancelled");
    check_cancelled_not_paid(s, checkout, order_id, cart, "customer");
    const auto money = ledger(s.app, order_id);
    CHECK(money.rows == 1);
    CHECK(money.outcome == "refunded");
    CHECK(money.captured == num(checkout.json().at("total").at("amount")));
    CHECK(money.refunded == money.captured);
    CHECK(refund_rows(s.app, order_id) == 0);  // the order never held the money, so it records no refund

    // The cart is still open: the customer pays for it with a new checkout.
    auto again = s.checkout(cart, "customer-again");
    REQUIRE_MESSAGE(again.status == 201, again.body);
    CHECK(again.json().at("status") == "paid");
    CHECK(again.json().at("id") != json::value(order_id));
    CHECK(stock_level(s.app, s.product.variant_id).on_hand == kOnHand - kQuantity);
    CHECK(cart_status(s.app, cart) == "completed");
    CHECK(paid_counter(s.app) == 1);
  }

  TEST_CASE("orders: an order paid elsewhere while the checkout waits for the provider is returned paid, paid once") {
    HookedShop s;
    const auto cart = s.cart();
    std::string order_id;
    std::string paid_note;
    std::optional<int> webhook_status;
    SUBCASE("by the provider's webhook") {
      paid_note = "payment succeeded (webhook ";
      s.hook->arm(Moment::after_provider, [&](const orders::payments::AuthorizeRequest& rq) {
        order_id = rq.order_id;
        webhook_status = send_payment_webhook(s.app, webhook_event(key("evt_first"), "payment.succeeded", rq.order_id,
                                                                   rq.amount.amount))
                             .status;
      });
    }
    SUBCASE("by the reconciler, which finds the captured payment") {
      paid_note = "payment found by the reconciler";
      s.hook->arm(Moment::after_provider, [&](const orders::payments::AuthorizeRequest& rq) {
        order_id = rq.order_id;
        age_past_payment_timeout(s.app, rq.order_id);
        run_job(s.app, "orders-reconcile");
      });
    }

    auto checkout = s.checkout(cart, "paid-first");

    REQUIRE(s.hook->fired() == 1);
    if (webhook_status) CHECK(*webhook_status == 204);
    REQUIRE_MESSAGE(checkout.status == 201, checkout.body);
    const auto body = checkout.json().as_object();
    CHECK(body.at("id") == json::value(order_id));
    CHECK(body.at("status") == "paid");
    CHECK(body.at("payment_status") == "captured");
    const auto total = num(body.at("total").at("amount"));

    const auto stored = admin_order(s.app, s.admin, order_id);
    CHECK(stored.at("status") == "paid");
    CHECK(stored.at("payment_status") == "captured");
    CHECK(stored.at("updated_at") == body.at("updated_at"));
    // One paid transition: the other path's, not a second one by the checkout.
    CHECK(history_statuses(stored) == std::vector<std::string>{"pending_payment", "paid"});
    CHECK(str(stored.at("history").as_array().back().at("note")).rfind(paid_note, 0) == 0);
    CHECK(event_types(s.app, order_id) == std::vector<std::string>{"orders.order_placed", "orders.order_paid"});

    // The stock is taken once, the cart done, the money captured once and kept.
    const auto level = stock_level(s.app, s.product.variant_id);
    CHECK(level.on_hand == kOnHand - kQuantity);
    CHECK(level.reserved == 0);
    CHECK(order_field(s.app, order_id, "stock_state") == "confirmed");
    CHECK(reservation_status(s.app, order_id) == "confirmed");
    CHECK(cart_status(s.app, cart) == "completed");
    const auto money = ledger(s.app, order_id);
    CHECK(money.rows == 1);
    CHECK(money.outcome == "captured");
    CHECK(money.captured == total);
    CHECK(money.refunded == 0);
    // Counted as paid once, whichever path paid it.
    CHECK(paid_counter(s.app) == 1);
    CHECK(revenue_counter(s.app) == static_cast<std::uint64_t>(total));
  }
}
