// A checkout whose order is settled elsewhere while its payment is being authorised. The checkout marks the
// order paid in one batch that expects it still pending (Service::mark_paid_at_checkout); when the
// reconciler, the customer or a webhook settled it first, that batch changes nothing and the checkout falls
// back to mark_paid, which re-reads the order under lock and leaves a settled order as it is. The provider
// hook (authorization_hook.hpp) puts the other path exactly between "order created" and "payment
// authorised"; then the response, the stored order, its history and events, the stock, the cart and the
// provider's ledger must all tell the same story. A payment taken for an order cancelled meanwhile is given
// back (Service::give_back_payment), and the order's books say so: its payment_status, refund, history,
// OrderRefunded for the customer, and stats that do not count it.
#include "orders/authorization_hook.hpp"

#include <fmt/format.h>

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

std::uint64_t refused_give_back_counter(TestApp& app) {
  return app.platform()
      .metrics()
      .counter("bazaar_orders_give_back_refused_total",
               "Refunds of payments taken after cancellation that the provider refused")
      .value();
}

// When the reconciler asks for a refused give-back again: attempts so far, and seconds from now until due
// (-1: nothing is due, nothing owed).
struct GiveBackRetry {
  long long attempts = 0;
  long long due_in_seconds = -1;
};

GiveBackRetry give_back_retry(TestApp& app, const std::string& order_id) {
  GiveBackRetry r;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT give_back_attempts, coalesce(round(extract(epoch FROM give_back_due_at - now()))::bigint, -1) "
         "FROM orders.orders WHERE id = CAST(:p AS uuid)",
        soci::use(order_id, "p"), soci::into(r.attempts), soci::into(r.due_in_seconds);
  });
  return r;
}

void make_give_back_due(TestApp& app, const std::string& order_id) {
  exec_sql(app, "UPDATE orders.orders SET give_back_due_at = now() - interval '1 second' WHERE id = CAST(:p AS uuid)",
           order_id);
}

// The provider answers late: before it authorises, the order outlives its payment timeout and the reconciler
// runs, asks the provider, finds no payment and cancels the order. `order_id` is set to the order's id.
void reconcile_before_provider(HookedShop& s, std::string& order_id) {
  s.hook->arm(Moment::before_provider, [&s, &order_id](const orders::payments::AuthorizeRequest& rq) {
    order_id = rq.order_id;
    age_past_payment_timeout(s.app, rq.order_id);
    run_job(s.app, "orders-reconcile");
  });
}

// The database's clock, as the stats' from/to take it.
std::string db_now(TestApp& app, const std::string& offset = "0 seconds") {
  return scalar<std::string>(app,
                             "SELECT to_char((now() + CAST(:p AS interval)) AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                             offset);
}

// What a checkout whose order was cancelled during its payment leaves behind: the response is the stored
// order, cancelled and not paid; no paid transition, no OrderPaid; the stock back on sale; the cart open
// for another attempt. (What became of the money is check_given_back's: it depends on the capture mode.)
void check_cancelled_not_paid(HookedShop& s, const HttpResponse& checkout, const std::string& order_id,
                              const std::string& cart_id, const std::string& reason, const std::string& note) {
  REQUIRE_MESSAGE(checkout.status == 201, checkout.body);
  const auto body = checkout.json().as_object();
  CHECK(body.at("id") == json::value(order_id));
  CHECK(body.at("status") == "cancelled");

  const auto stored = admin_order(s.app, s.admin, order_id);
  CHECK(stored.at("status") == body.at("status"));
  CHECK(stored.at("payment_status") == body.at("payment_status"));
  CHECK(stored.at("refunded_total") == body.at("refunded_total"));
  CHECK(stored.at("updated_at") == body.at("updated_at"));  // the order as stored, not the checkout's stale copy
  // Placed, cancelled by the other path, then the give-back's entry (the status stays cancelled).
  CHECK(history_statuses(stored) == std::vector<std::string>{"pending_payment", "cancelled", "cancelled"});
  CHECK(str(stored.at("history").at(1).at("note")).find(note) != std::string::npos);
  CHECK(event_payload(s.app, order_id, "orders.order_cancelled").at("reason") == json::value(reason));

  const auto level = stock_level(s.app, s.product.variant_id);
  CHECK(level.on_hand == kOnHand);
  CHECK(level.reserved == 0);
  CHECK(order_field(s.app, order_id, "stock_state") == "released");
  CHECK(reservation_status(s.app, order_id) == "released");
  CHECK(cart_status(s.app, cart_id) == "open");
  CHECK(paid_counter(s.app) == 0);
}

// What the checkout did with the money it found taken for a cancelled order.
enum class GivenBack { voided, refunded, refund_refused };

// The order's books tell what became of the money. A voided authorisation reads "refunded", as a customer's
// cancellation of an authorised order records its void (API.md has no "voided"), and moved no money: no
// refund row, no OrderRefunded. A refunded capture is a refund like any other: a row for the total, by
// "system", "refunded", and OrderRefunded, which tells the customer. A refused refund reads "captured": the
// provider holds the money, and the order stands apart from cancellations that took nothing.
void check_given_back(HookedShop& s, const HttpResponse& checkout, const std::string& order_id, GivenBack given) {
  constexpr std::string_view kReason = "payment taken after the order was cancelled";
  const auto body = checkout.json().as_object();
  const auto total = num(body.at("total").at("amount"));
  const bool refunded = given == GivenBack::refunded;
  const std::string payment_status = given == GivenBack::refund_refused ? "captured" : "refunded";
  CHECK(body.at("status") == "cancelled");
  CHECK(body.at("payment_status") == json::value(payment_status));
  CHECK(num(body.at("refunded_total").at("amount")) == (refunded ? total : 0));

  const auto history = admin_order(s.app, s.admin, order_id).at("history").as_array();
  REQUIRE(history.size() == 3);
  CHECK(history[1].at("payment_status") == "failed");  // what the cancellation knew
  const auto& entry = history[2];
  CHECK(entry.at("status") == "cancelled");
  CHECK(entry.at("payment_status") == json::value(payment_status));
  CHECK(entry.at("actor") == "system");
  CHECK(str(entry.at("note")).find(kReason) != std::string::npos);
  if (given == GivenBack::refund_refused) CHECK(str(entry.at("note")).find("refused") != std::string::npos);

  CHECK(refund_rows(s.app, order_id) == (refunded ? 1 : 0));
  std::vector<std::string> events{"orders.order_placed", "orders.order_cancelled"};
  if (refunded) {
    const std::string row = "SELECT amount::text || '|' || reason || '|' || actor FROM orders.refunds "
                            "WHERE order_id = CAST(:p AS uuid)";
    CHECK(scalar<std::string>(s.app, row, order_id) == fmt::format("{}|{}|system", total, kReason));
    events.push_back("orders.order_refunded");
    // The admin refund's shape: notifications tells the customer from it.
    const auto event = event_payload(s.app, order_id, "orders.order_refunded");
    CHECK(event.at("amount") == total);
    CHECK(event.at("refunded_total") == total);
    CHECK(event.at("full") == true);
    CHECK(event.at("reason") == json::value(kReason));
    CHECK(event.at("order").at("order_id") == json::value(order_id));
    CHECK(event.at("order").at("status") == "cancelled");
    CHECK(event.at("order").at("payment_status") == "refunded");
    CHECK(event.at("order").at("total") == total);
  }
  CHECK(event_types(s.app, order_id) == events);
}

// The customer's in-app message about the give-back, after the events are handled: one refund message
// naming the reason when the money went back, none otherwise.
void check_customer_told(HookedShop& s, const std::string& number, bool refunded) {
  s.app.platform().drain_events();
  auto inbox = s.app.http().get("/api/v1/me/notifications?limit=100", s.customer.token);
  REQUIRE_MESSAGE(inbox.status == 200, inbox.body);
  const auto items = inbox.json().at("items").as_array();
  std::vector<std::string> bodies;
  for (const auto& item : items) {
    if (item.at("type") == "order_refunded" && str(item.at("title")).find(number) != std::string::npos) {
      bodies.push_back(str(item.at("body")));
    }
  }
  REQUIRE(bodies.size() == (refunded ? 1u : 0u));
  if (refunded) CHECK(bodies[0].find("payment taken after the order was cancelled") != std::string::npos);
}

// The stats count orders by paid_at, net of refunds: an order cancelled before it was paid adds nothing,
// whatever became of its money — no revenue, and no negative refund either. `from` is before the checkout,
// and no other order is paid in the window.
void check_not_in_stats(HookedShop& s, const std::string& order_id, const std::string& from) {
  CHECK(scalar<long long>(s.app, "SELECT count(*) FROM orders.orders WHERE id = CAST(:p AS uuid) AND paid_at IS NULL",
                          order_id) == 1);
  auto stats = s.app.http().get("/admin/v1/stats?from=" + from + "&to=" + db_now(s.app, "1 second"), s.admin.token);
  REQUIRE_MESSAGE(stats.status == 200, stats.body);
  const auto doc = stats.json();
  CHECK(doc.at("orders") == 0);
  CHECK(doc.at("revenue").at("amount") == 0);
  CHECK(doc.at("top_products").as_array().empty());
  CHECK(doc.at("by_day").as_array().empty());
}

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: the reconciler cancels an order before the provider has its payment: cancelled, not charged") {
    // The provider answers late: the order outlives the payment timeout, the reconciler asks the provider,
    // finds no payment, cancels the order; then the provider takes the money and the checkout hears of it.
    std::string capture = "immediate";
    std::string ledger_outcome = "refunded";
    GivenBack given = GivenBack::refunded;
    bool refuse = false;
    SUBCASE("captured at once: the capture is refunded") {}
    SUBCASE("capture on ship: the authorisation is voided") {
      capture = "on_ship";
      ledger_outcome = "failed";
      given = GivenBack::voided;
    }
    SUBCASE("captured at once, and the provider refuses the refund: the order shows the money held") {
      ledger_outcome = "captured";
      given = GivenBack::refund_refused;
      refuse = true;
    }
    auto config = testing::test_config();
    config.set("payments.capture", boost::json::string(capture));
    HookedShop s(std::move(config));
    if (refuse) s.hook->refuse_refunds();
    const auto cart = s.cart();
    const auto from = db_now(s.app);
    std::string order_id;
    reconcile_before_provider(s, order_id);

    auto checkout = s.checkout(cart, "reconciled-first");

    REQUIRE(s.hook->fired() == 1);
    check_cancelled_not_paid(s, checkout, order_id, cart, "payment_timeout", "payment_timeout");
    check_given_back(s, checkout, order_id, given);
    // The payment the provider took after the reconciler looked is given back, unless the provider refuses.
    const auto money = ledger(s.app, order_id);
    CHECK(money.rows == 1);
    CHECK(money.outcome == ledger_outcome);
    CHECK(money.amount == num(checkout.json().at("total").at("amount")));
    CHECK(money.captured == (capture == "immediate" ? money.amount : 0));
    CHECK(money.refunded == (refuse ? 0 : money.captured));
    check_customer_told(s, str(checkout.json().at("number")), given == GivenBack::refunded);
    check_not_in_stats(s, order_id, from);

    // Nothing is left for the reconciler: running it again changes nothing.
    run_job(s.app, "orders-reconcile");
    CHECK(admin_order(s.app, s.admin, order_id).at("history").as_array().size() == 3);
    CHECK(stock_level(s.app, s.product.variant_id).reserved == 0);
    CHECK(ledger(s.app, order_id).outcome == ledger_outcome);
  }

  TEST_CASE("orders: an order cancelled while the provider captures its payment is cancelled and refunded") {
    HookedShop s;
    const auto cart = s.cart();
    const auto from = db_now(s.app);
    std::string order_id;
    std::string reason;
    std::string note;         // the cancellation's history entry
    int cancel_status = 200;  // the cancel route's; a webhook's is 204
    std::optional<HttpResponse> cancelled;
    SUBCASE("by the customer") {
      reason = "customer";
      note = "cancelled by customer";
      s.hook->arm(Moment::after_provider, [&](const orders::payments::AuthorizeRequest& rq) {
        order_id = rq.order_id;
        cancelled = cancel(s.app, rq.order_id, s.customer.token);
      });
    }
    SUBCASE("by the provider's payment.failed webhook") {
      reason = "payment_failed";
      note = "payment failed (webhook ";
      cancel_status = 204;
      s.hook->arm(Moment::after_provider, [&](const orders::payments::AuthorizeRequest& rq) {
        order_id = rq.order_id;
        cancelled = send_payment_webhook(s.app, webhook_event(key("evt_failed"), "payment.failed", rq.order_id,
                                                              rq.amount.amount));
      });
    }

    auto checkout = s.checkout(cart, "cancelled-first");

    REQUIRE(s.hook->fired() == 1);
    REQUIRE(cancelled);
    REQUIRE_MESSAGE(cancelled->status == cancel_status, cancelled->body);
    check_cancelled_not_paid(s, checkout, order_id, cart, reason, note);
    check_given_back(s, checkout, order_id, GivenBack::refunded);
    const auto money = ledger(s.app, order_id);
    CHECK(money.rows == 1);
    CHECK(money.outcome == "refunded");
    CHECK(money.captured == num(checkout.json().at("total").at("amount")));
    CHECK(money.refunded == money.captured);
    check_customer_told(s, str(checkout.json().at("number")), true);
    check_not_in_stats(s, order_id, from);

    // The cart is still open: the customer pays for it with a new checkout.
    auto again = s.checkout(cart, "customer-again");
    REQUIRE_MESSAGE(again.status == 201, again.body);
    CHECK(again.json().at("status") == "paid");
    CHECK(again.json().at("id") != json::value(order_id));
    CHECK(stock_level(s.app, s.product.variant_id).on_hand == kOnHand - kQuantity);
    CHECK(cart_status(s.app, cart) == "completed");
    CHECK(paid_counter(s.app) == 1);
    // The stats hold the paid order alone: the refunded one neither adds revenue nor takes its refund off.
    auto stats = s.app.http().get("/admin/v1/stats?from=" + from + "&to=" + db_now(s.app, "1 second"), s.admin.token);
    REQUIRE_MESSAGE(stats.status == 200, stats.body);
    CHECK(stats.json().at("orders") == 1);
    CHECK(stats.json().at("revenue").at("amount") == again.json().at("total").at("amount"));
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

  TEST_CASE("orders: a give-back refund the provider refused is asked again by the reconciler, backing off") {
    // As in the reconciler case above: the order is cancelled for its payment timeout while the provider
    // authorises, the provider captures, and then refuses the checkout's refund.
    HookedShop s;
    s.hook->refuse_refunds();
    const auto cart = s.cart();
    const auto from = db_now(s.app);
    std::string order_id;
    reconcile_before_provider(s, order_id);
    auto checkout = s.checkout(cart, "refund-refused");
    REQUIRE(s.hook->fired() == 1);
    check_given_back(s, checkout, order_id, GivenBack::refund_refused);
    const auto total = num(checkout.json().at("total").at("amount"));
    CHECK(refused_give_back_counter(s.app) == 1);
    // The first retry is due after orders.give_back_retry_seconds (300 by default).
    auto retry = give_back_retry(s.app, order_id);
    CHECK(retry.attempts == 1);
    CHECK(retry.due_in_seconds >= 295);
    CHECK(retry.due_in_seconds <= 300);

    // Not yet due: the reconciler leaves it alone.
    run_job(s.app, "orders-reconcile");
    CHECK(give_back_retry(s.app, order_id).attempts == 1);

    // Due, and refused again: the next retry waits twice as long; the history does not grow.
    make_give_back_due(s.app, order_id);
    run_job(s.app, "orders-reconcile");
    retry = give_back_retry(s.app, order_id);
    CHECK(retry.attempts == 2);
    CHECK(retry.due_in_seconds >= 595);
    CHECK(retry.due_in_seconds <= 600);
    CHECK(refused_give_back_counter(s.app) == 2);
    CHECK(admin_order(s.app, s.admin, order_id).at("payment_status") == "captured");
    CHECK(admin_order(s.app, s.admin, order_id).at("history").as_array().size() == 3);
    CHECK(ledger(s.app, order_id).refunded == 0);

    // The provider cannot be reached: the reconciler's pass goes on, and the give-back waits out its lease
    // (5 minutes) without counting an attempt.
    s.hook->set_unreachable(true);
    make_give_back_due(s.app, order_id);
    run_job(s.app, "orders-reconcile");
    s.hook->set_unreachable(false);
    retry = give_back_retry(s.app, order_id);
    CHECK(retry.attempts == 2);
    CHECK(retry.due_in_seconds >= 295);
    CHECK(retry.due_in_seconds <= 300);

    // However many refusals, the wait stops growing at a day.
    exec_sql(s.app, "UPDATE orders.orders SET give_back_attempts = 1000 WHERE id = CAST(:p AS uuid)", order_id);
    make_give_back_due(s.app, order_id);
    run_job(s.app, "orders-reconcile");
    retry = give_back_retry(s.app, order_id);
    CHECK(retry.attempts == 1001);
    CHECK(retry.due_in_seconds >= 86395);
    CHECK(retry.due_in_seconds <= 86400);

    SUBCASE("the provider makes the refund: the order shows it, and the customer is told") {
      s.hook->accept_refunds();
    }
    SUBCASE("the provider had given back part of it meanwhile: only the rest is asked for") {
      s.hook->accept_refunds();
      exec_sql(s.app, "UPDATE orders.test_payments SET refunded = captured / 2 WHERE order_id = CAST(:p AS uuid)",
               order_id);
    }
    SUBCASE("the provider had made the refund before a crash kept it from being recorded: recorded, not made twice") {
      // The provider still refuses new refunds: the retry must read the ledger, not ask again.
      exec_sql(s.app,
               "UPDATE orders.test_payments SET refunded = captured, outcome = 'refunded' "
               "WHERE order_id = CAST(:p AS uuid)",
               order_id);
    }
    make_give_back_due(s.app, order_id);
    run_job(s.app, "orders-reconcile");

    const auto stored = admin_order(s.app, s.admin, order_id);
    CHECK(stored.at("status") == "cancelled");
    CHECK(stored.at("payment_status") == "refunded");
    CHECK(num(stored.at("refunded_total").at("amount")) == total);
    const auto history = stored.at("history").as_array();
    REQUIRE(history.size() == 4);
    CHECK(history[3].at("payment_status") == "refunded");
    CHECK(history[3].at("actor") == "system");
    CHECK(str(history[3].at("note")).find("payment taken after the order was cancelled") != std::string::npos);
    CHECK(refund_rows(s.app, order_id) == 1);
    CHECK(event_types(s.app, order_id) ==
          std::vector<std::string>{"orders.order_placed", "orders.order_cancelled", "orders.order_refunded"});
    const auto money = ledger(s.app, order_id);
    CHECK(money.captured == total);
    CHECK(money.refunded == total);
    CHECK(money.outcome == "refunded");
    CHECK(give_back_retry(s.app, order_id).due_in_seconds == -1);  // nothing owed, nothing due
    check_customer_told(s, str(checkout.json().at("number")), true);
    check_not_in_stats(s, order_id, from);

    // Done: the reconciler has nothing more to ask.
    run_job(s.app, "orders-reconcile");
    CHECK(admin_order(s.app, s.admin, order_id).at("history").as_array().size() == 4);
    CHECK(refund_rows(s.app, order_id) == 1);
  }
}
