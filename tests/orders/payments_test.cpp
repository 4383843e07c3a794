// Asynchronous payments (tok_async) and the signed provider webhook against the real PostgreSQL:
// settlement either way, the signature and its time window, replay protection and amount checks.
#include "orders/orders_support.hpp"

#include <platform/security.hpp>

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::new_admin;
using testing::new_customer;
using testing::new_product;
using testing::send_payment_webhook;
using testing::stock_level;

TEST_SUITE("db.orders") {
  TEST_CASE("orders: tok_async waits in pending_payment, and a signed payment.succeeded makes it paid") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = order_of(app, customer, product, 2, "tok_async");
    CHECK(order.order.at("status") == "pending_payment");
    CHECK(order.order.at("payment_status") == "pending");
    CHECK(cart_status(app, order.cart_id) == "completed");  // the order exists, so the cart is done
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 5);
    CHECK(level.reserved == 2);
    CHECK(event_payload(app, order.id, "orders.order_placed").at("awaits_external_payment") == true);

    const std::string event_id = key("evt_ok");
    const std::string body = webhook_event(event_id, "payment.succeeded", order.id, order.total);
    auto settled = send_payment_webhook(app, body);
    REQUIRE_MESSAGE(settled.status == 204, settled.body);
    CHECK(settled.body.empty());

    auto doc = admin_order(app, admin, order.id);
    CHECK(doc.at("status") == "paid");
    CHECK(doc.at("payment_status") == "captured");
    level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 3);
    CHECK(level.reserved == 0);
    CHECK(scalar<std::string>(app, "SELECT stock_state FROM orders.orders WHERE id = CAST(:p AS uuid)", order.id) ==
          "confirmed");
    const auto history_size = doc.at("history").as_array().size();
    CHECK(history_size == 2);
    CHECK(str(doc.at("history").at(1).at("note")).find(event_id) != std::string::npos);

    // The same event again (the provider retries): 204 and nothing more happens.
    auto replay = send_payment_webhook(app, body);
    CHECK(replay.status == 204);
    doc = admin_order(app, admin, order.id);
    CHECK(doc.at("history").as_array().size() == history_size);
    CHECK(stock_level(app, product.variant_id).on_hand == 3);
    CHECK(event_types(app, order.id) == std::vector<std::string>{"orders.order_placed", "orders.order_paid"});
    // A different event for an order that is settled already changes nothing either.
    auto failed_late = send_payment_webhook(app, webhook_event(key("evt_late"), "payment.failed", order.id, order.total));
    CHECK(failed_late.status == 204);
    CHECK(admin_order(app, admin, order.id).at("status") == "paid");
    CHECK(event_types(app, order.id).size() == 2);
  }

  TEST_CASE("orders: a signed payment.failed cancels the order and releases its stock") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = guest_order_of(app, product, 3, "tok_async");
    CHECK(stock_level(app, product.variant_id).reserved == 3);

    auto failed = send_payment_webhook(app, webhook_event(key("evt_fail"), "payment.failed", order.id, order.total));
    REQUIRE_MESSAGE(failed.status == 204, failed.body);
    auto doc = admin_order(app, admin, order.id);
    CHECK(doc.at("status") == "cancelled");
    CHECK(doc.at("payment_status") == "failed");
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 5);
    CHECK(level.reserved == 0);
    const auto event = event_payload(app, order.id, "orders.order_cancelled");
    CHECK(event.at("reason") == "payment_failed");
    // A success arriving after the failure does not revive it.
    auto late = send_payment_webhook(app, webhook_event(key("evt_late"), "payment.succeeded", order.id, order.total));
    CHECK(late.status == 204);
    CHECK(admin_order(app, admin, order.id).at("status") == "cancelled");
    CHECK(stock_level(app, product.variant_id).on_hand == 5);
  }

  TEST_CASE("orders: webhooks with a bad, missing or stale signature are 400 invalid_signature and change nothing") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = guest_order_of(app, product, 1, "tok_async");
    const std::string body = webhook_event(key("evt_sig"), "payment.succeeded", order.id, order.total);
    const std::int64_t now = unix_now();

    auto expect_invalid = [&](const HttpResponse& r, const char* what) {
      CHECK_MESSAGE(r.status == 400, what, ": ", r.body);
      CHECK_MESSAGE(problem_code(r) == "invalid_signature", what);
    };
    expect_invalid(send_payment_webhook(app, body, now, "not-the-secret"), "wrong secret");
    expect_invalid(send_payment_webhook(app, body, now - 301), "older than 5 minutes");
    expect_invalid(send_payment_webhook(app, body, now + 301), "more than 5 minutes ahead");
    expect_invalid(app.http().send(HttpRequest{"POST", "/api/v1/payments/webhook", body,
                                               {{"Content-Type", "application/json"}}, ""}),
                   "no header");
    for (const std::string& header : {std::string("garbage"), "t=" + std::to_string(now),
                                      "t=abc,v1=" + std::string(64, '0'), "v1=" + std::string(64, '0'),
                                      "t=" + std::to_string(now) + ",v1=" + std::string(64, '0')}) {
      expect_invalid(app.http().send(HttpRequest{"POST", "/api/v1/payments/webhook", body,
                                                 {{"Content-Type", "application/json"}, {"Bazaar-Signature", header}},
                                                 ""}),
                     header.c_str());
    }
    // A body changed after signing no longer matches.
    const std::string other = webhook_event(key("evt_sig"), "payment.succeeded", order.id, order.total + 1);
    const std::string sig = "t=" + std::to_string(now) + ",v1=" +
                            platform::security::hmac_sha256_hex(
                                app.platform().config().required_string("payments.webhook_secret"),
                                std::to_string(now) + "." + body);
    expect_invalid(app.http().send(HttpRequest{"POST", "/api/v1/payments/webhook", other,
                                               {{"Content-Type", "application/json"}, {"Bazaar-Signature", sig}}, ""}),
                   "tampered body");

    CHECK(admin_order(app, admin, order.id).at("status") == "pending_payment");
    CHECK(stock_level(app, product.variant_id).reserved == 1);
    // Within the window (a little clock skew either way) it is accepted.
    auto ok = send_payment_webhook(app, body, now - 240);
    CHECK(ok.status == 204);
    CHECK(admin_order(app, admin, order.id).at("status") == "paid");
  }

  TEST_CASE("orders: webhooks with the wrong amount are 422, for unknown orders 404, malformed 422") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = guest_order_of(app, product, 1, "tok_async");

    const std::string mismatch_id = key("evt_amount");
    auto mismatch = send_payment_webhook(app, webhook_event(mismatch_id, "payment.succeeded", order.id, order.total - 1));
    CHECK(mismatch.status == 422);
    CHECK(problem_code(mismatch) == "validation_failed");
    auto currency = send_payment_webhook(app, webhook_event(key("evt_cur"), "payment.succeeded", order.id, order.total, "USD"));
    CHECK(currency.status == 422);
    CHECK(admin_order(app, admin, order.id).at("status") == "pending_payment");
    CHECK(stock_level(app, product.variant_id).reserved == 1);

    auto unknown = send_payment_webhook(app, webhook_event(key("evt_unknown"), "payment.succeeded",
                                                           platform::new_uuid_v7(), order.total));
    CHECK(unknown.status == 404);
    for (const std::string& body :
         {webhook_event("no-prefix", "payment.succeeded", order.id, order.total),
          webhook_event(key("evt_type"), "payment.refunded", order.id, order.total),
          webhook_event(key("evt_order"), "payment.succeeded", "not-a-uuid", order.total),
          json::serialize(json::object{{"id", key("evt_nodata")}, {"type", "payment.succeeded"}})}) {
      auto r = send_payment_webhook(app, body);
      CHECK_MESSAGE(r.status == 422, body, " → ", r.body);
    }
    auto broken = send_payment_webhook(app, "{not json");
    CHECK(broken.status == 400);
    CHECK(admin_order(app, admin, order.id).at("status") == "pending_payment");

    // The refused event id was not used up: the right amount under that id settles the order.
    auto right = send_payment_webhook(app, webhook_event(mismatch_id, "payment.succeeded", order.id, order.total));
    CHECK(right.status == 204);
    CHECK(admin_order(app, admin, order.id).at("status") == "paid");
  }

  TEST_CASE("orders: a tok_async order keeps its stock for the whole payment window") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = guest_order_of(app, product, 2, "tok_async");
    // Almost the whole payment window passes before the provider reports success.
    const auto timeout = app.platform().config().integer("orders.pending_payment_timeout_seconds", 1800);
    const std::string earlier = " - make_interval(secs => " + std::to_string(timeout - 60) + ")";
    exec_sql(app, "UPDATE orders.orders SET created_at = created_at" + earlier + " WHERE id = CAST(:p AS uuid)", order.id);
    exec_sql(app,
             "UPDATE catalog.reservations SET created_at = created_at" + earlier + ", expires_at = expires_at" + earlier +
                 " WHERE order_id = CAST(:p AS uuid)",
             order.id);
    testing::run_job(app, "catalog-reservation-sweeper");
    testing::run_job(app, "orders-reconcile");
    CHECK(admin_order(app, admin, order.id).at("status") == "pending_payment");
    CHECK(stock_level(app, product.variant_id).reserved == 2);  // still held for the order

    // Nobody else can buy the held units meanwhile.
    auto rest = guest_order_of(app, product, 3);
    CHECK(rest.order.at("status") == "paid");
    const auto cart = testing::new_cart(app, {}, {});
    auto none_left = app.http().post_json("/api/v1/carts/" + cart + "/items",
                                          json::object{{"variant_id", product.variant_id}, {"quantity", 1}});
    CHECK(none_left.status == 409);

    auto settled = send_payment_webhook(app, webhook_event(key("evt_slow"), "payment.succeeded", order.id, order.total));
    REQUIRE_MESSAGE(settled.status == 204, settled.body);
    CHECK(admin_order(app, admin, order.id).at("status") == "paid");
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 0);
    CHECK(level.reserved == 0);
  }
}
