// The order lifecycle over HTTP against the real PostgreSQL: the state machine's illegal transitions,
// shipping and delivery, customer cancellation (with refund and restock), admin refunds (partial, full,
// idempotent), and who may see or touch an order.
#include "orders/orders_support.hpp"

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::new_admin;
using testing::new_customer;
using testing::new_product;
using testing::stock_level;

TEST_SUITE("db.orders") {
  TEST_CASE("orders: ship and deliver record carrier, tracking and every transition in the history") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = order_of(app, customer, product, 1);

    for (const auto& body : {json::object{{"carrier", "DHL"}}, json::object{{"tracking_number", "X"}},
                             json::object{{"carrier", ""}, {"tracking_number", "X"}}}) {
      auto r = admin_post(app, admin, order.id, "ship", body);
      CHECK(r.status == 422);
    }
    auto shipped = admin_post(app, admin, order.id, "ship", json::object{{"carrier", "UPS"}, {"tracking_number", "1Z999"}});
    REQUIRE_MESSAGE(shipped.status == 200, shipped.body);
    CHECK(shipped.json().at("status") == "shipped");
    CHECK(shipped.json().at("tracking") == json::value{{"carrier", "UPS"}, {"tracking_number", "1Z999"}});
    // The customer sees the tracking too.
    auto seen = app.http().get("/api/v1/orders/" + order.id, customer.token);
    CHECK(seen.json().at("tracking").at("tracking_number") == "1Z999");

    auto delivered = admin_post(app, admin, order.id, "deliver");
    REQUIRE_MESSAGE(delivered.status == 200, delivered.body);
    const auto doc = delivered.json();
    CHECK(doc.at("status") == "delivered");
    const auto history = doc.at("history").as_array();
    REQUIRE(history.size() == 4);
    const std::vector<std::string> statuses{"pending_payment", "paid", "shipped", "delivered"};
    for (std::size_t i = 0; i < history.size(); ++i) {
      CHECK(history[i].at("status") == json::value(statuses[i]));
      CHECK(str(history[i].at("at")).ends_with("Z"));
      CHECK(history[i].as_object().contains("note"));
      if (i > 0) CHECK(str(history[i - 1].at("at")) <= str(history[i].at("at")));
    }
    CHECK(str(history[2].at("note")).find("1Z999") != std::string::npos);
    CHECK(str(history[2].at("actor")).find(admin.id) != std::string::npos);
    // Admin actions are audited.
    CHECK(scalar<long long>(app, "SELECT count(*) FROM platform.audit_log WHERE target_id = :p", order.id) == 2);

    CHECK(admin_post(app, admin, platform::new_uuid_v7(), "deliver").status == 404);
    CHECK(ship(app, admin, platform::new_uuid_v7()).status == 404);
    CHECK(refund(app, admin, platform::new_uuid_v7(), std::nullopt).status == 404);
    CHECK(app.http().get("/admin/v1/orders/" + platform::new_uuid_v7(), admin.token).status == 404);
  }

  TEST_CASE("orders: every illegal transition is 409 invalid_transition and changes nothing") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 50);

    auto expect_409 = [&](const HttpResponse& r, const std::string& order_id, const std::string& status) {
      CHECK_MESSAGE(r.status == 409, r.body);
      CHECK(problem_code(r) == "invalid_transition");
      CHECK(admin_order(app, admin, order_id).at("status") == json::value(status));
    };

    auto pending = order_of(app, customer, product, 1, "tok_async");
    expect_409(ship(app, admin, pending.id), pending.id, "pending_payment");
    expect_409(admin_post(app, admin, pending.id, "deliver"), pending.id, "pending_payment");
    expect_409(refund(app, admin, pending.id, std::nullopt), pending.id, "pending_payment");

    auto paid = order_of(app, customer, product, 1);
    expect_409(admin_post(app, admin, paid.id, "deliver"), paid.id, "paid");  // deliver before ship

    auto shipped = order_of(app, customer, product, 1);
    REQUIRE(ship(app, admin, shipped.id).status == 200);
    expect_409(ship(app, admin, shipped.id), shipped.id, "shipped");
    expect_409(cancel(app, shipped.id, customer.token), shipped.id, "shipped");

    auto delivered = order_of(app, customer, product, 1);
    REQUIRE(ship(app, admin, delivered.id).status == 200);
    REQUIRE(admin_post(app, admin, delivered.id, "deliver").status == 200);
    expect_409(admin_post(app, admin, delivered.id, "deliver"), delivered.id, "delivered");
    expect_409(ship(app, admin, delivered.id), delivered.id, "delivered");
    expect_409(cancel(app, delivered.id, customer.token), delivered.id, "delivered");

    auto cancelled = order_of(app, customer, product, 1);
    REQUIRE(cancel(app, cancelled.id, customer.token).status == 200);
    expect_409(ship(app, admin, cancelled.id), cancelled.id, "cancelled");
    expect_409(admin_post(app, admin, cancelled.id, "deliver"), cancelled.id, "cancelled");
    expect_409(cancel(app, cancelled.id, customer.token), cancelled.id, "cancelled");
    expect_409(refund(app, admin, cancelled.id, std::nullopt), cancelled.id, "cancelled");

    auto refunded = order_of(app, customer, product, 1);
    REQUIRE(refund(app, admin, refunded.id, std::nullopt).status == 200);
    expect_409(refund(app, admin, refunded.id, std::nullopt), refunded.id, "refunded");
    expect_409(refund(app, admin, refunded.id, 1), refunded.id, "refunded");
    expect_409(ship(app, admin, refunded.id), refunded.id, "refunded");
    expect_409(admin_post(app, admin, refunded.id, "deliver"), refunded.id, "refunded");
    expect_409(cancel(app, refunded.id, customer.token), refunded.id, "refunded");

    // Shipped and delivered orders may still be refunded in full.
    auto after_ship = refund(app, admin, shipped.id, std::nullopt);
    REQUIRE_MESSAGE(after_ship.status == 200, after_ship.body);
    CHECK(after_ship.json().at("status") == "refunded");
    auto after_delivery = refund(app, admin, delivered.id, std::nullopt);
    REQUIRE_MESSAGE(after_delivery.status == 200, after_delivery.body);
    CHECK(after_delivery.json().at("status") == "refunded");
  }

  TEST_CASE("orders: a customer cancelling a paid order is refunded in full and the stock goes back on hand") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = order_of(app, customer, product, 2);
    CHECK(stock_level(app, product.variant_id).on_hand == 3);

    auto cancelled = cancel(app, order.id, customer.token);
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    const auto doc = cancelled.json();
    CHECK(doc.at("status") == "cancelled");
    CHECK(doc.at("payment_status") == "refunded");
    CHECK(doc.at("refunded_total") == doc.at("total"));
    CHECK(num(doc.at("total").at("amount")) == order.total);
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 5);
    CHECK(level.reserved == 0);
    CHECK(refund_rows(app, order.id) == 1);
    CHECK(scalar<long long>(app, "SELECT coalesce(sum(amount), 0) FROM orders.refunds WHERE order_id = CAST(:p AS uuid)",
                            order.id) == order.total);
    auto history = admin_order(app, admin, order.id).at("history").as_array();
    CHECK(history.back().at("status") == "cancelled");
    const auto event = event_payload(app, order.id, "orders.order_cancelled");
    CHECK(event.at("reason") == "customer");
    CHECK(event.at("refunded") == true);
  }

  TEST_CASE("orders: a customer may cancel an order awaiting payment; its reservation is released") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = order_of(app, customer, product, 2, "tok_async");
    CHECK(stock_level(app, product.variant_id).reserved == 2);

    auto cancelled = cancel(app, order.id, customer.token);
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    CHECK(cancelled.json().at("status") == "cancelled");
    CHECK(cancelled.json().at("refunded_total").at("amount") == 0);
    CHECK(refund_rows(app, order.id) == 0);
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 5);
    CHECK(level.reserved == 0);
    // A late success from the provider does not revive it.
    auto late = testing::send_payment_webhook(app, webhook_event(key("evt_late"), "payment.succeeded", order.id, order.total));
    CHECK(late.status == 204);
    CHECK(admin_order(app, admin, order.id).at("status") == "cancelled");
    CHECK(stock_level(app, product.variant_id).on_hand == 5);
  }

  TEST_CASE("orders: a partial refund, then the rest: partially_refunded, then refunded; more than remains is 422") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 2000, 5);
    auto order = order_of(app, customer, product, 1);  // 2000 + 495
    const std::int64_t total = order.total;
    REQUIRE(total == 2495);

    auto partial = refund(app, admin, order.id, 500);
    REQUIRE_MESSAGE(partial.status == 200, partial.body);
    CHECK(partial.json().at("status") == "paid");
    CHECK(partial.json().at("payment_status") == "partially_refunded");
    CHECK(partial.json().at("refunded_total") == json::value{{"amount", 500}, {"currency", "EUR"}});
    CHECK(stock_level(app, product.variant_id).on_hand == 4);  // goods are not back for a partial refund

    for (std::int64_t bad : {total - 500 + 1, std::int64_t{0}, std::int64_t{-5}}) {
      auto r = refund(app, admin, order.id, bad);
      CHECK_MESSAGE(r.status == 422, bad);
      CHECK(problem_code(r) == "validation_failed");
    }
    auto wrong_currency = admin_post(app, admin, order.id, "refund",
                                     json::object{{"amount", {{"amount", 100}, {"currency", "USD"}}}, {"reason", "x"}});
    CHECK(wrong_currency.status == 422);
    auto no_reason = admin_post(app, admin, order.id, "refund", json::object{{"amount", {{"amount", 100}, {"currency", "EUR"}}}});
    CHECK(no_reason.status == 422);
    CHECK(refund_rows(app, order.id) == 1);

    auto rest = refund(app, admin, order.id, std::nullopt);
    REQUIRE_MESSAGE(rest.status == 200, rest.body);
    const auto doc = rest.json();
    CHECK(doc.at("status") == "refunded");
    CHECK(doc.at("payment_status") == "refunded");
    CHECK(doc.at("refunded_total").at("amount") == total);
    CHECK(refund_rows(app, order.id) == 2);
    // A full refund before shipping puts the goods back.
    CHECK(stock_level(app, product.variant_id).on_hand == 5);
    const auto history = doc.at("history").as_array();
    REQUIRE(history.size() == 4);
    CHECK(history[2].at("payment_status") == "partially_refunded");
    CHECK(history[3].at("status") == "refunded");
    CHECK(event_types(app, order.id) == std::vector<std::string>{"orders.order_placed", "orders.order_paid",
                                                                  "orders.order_refunded", "orders.order_refunded"});
    const auto last = event_payload(app, order.id, "orders.order_refunded");
    CHECK(last.at("full") == true);
    CHECK(last.at("refunded_total") == total);
  }

  TEST_CASE("orders: a refund with an Idempotency-Key is applied once, and its replay returns the same body") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 3000, 5);
    auto order = order_of(app, customer, product, 1);
    const std::string k = key("refund");

    auto first = refund(app, admin, order.id, 700, k);
    REQUIRE_MESSAGE(first.status == 200, first.body);
    auto replay = refund(app, admin, order.id, 700, k);
    CHECK(replay.status == 200);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.body == first.body);
    CHECK(refund_rows(app, order.id) == 1);
    CHECK(admin_order(app, admin, order.id).at("refunded_total").at("amount") == 700);
    auto reused = refund(app, admin, order.id, 800, k);
    CHECK(reused.status == 422);
    CHECK(problem_code(reused) == "idempotency_key_reused");
    CHECK(refund_rows(app, order.id) == 1);
    CHECK(scalar<long long>(app, "SELECT refunded FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)", order.id) ==
          700);
  }

  TEST_CASE("orders: cancelling a partially refunded order refunds what remains") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = order_of(app, customer, product, 1);
    REQUIRE(refund(app, admin, order.id, 300).status == 200);

    auto cancelled = cancel(app, order.id, customer.token);
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    CHECK(cancelled.json().at("status") == "cancelled");
    CHECK(cancelled.json().at("payment_status") == "refunded");
    CHECK(cancelled.json().at("refunded_total").at("amount") == order.total);
    CHECK(refund_rows(app, order.id) == 2);
    CHECK(scalar<long long>(app, "SELECT coalesce(sum(amount), 0) FROM orders.refunds WHERE order_id = CAST(:p AS uuid)",
                            order.id) == order.total);
    CHECK(scalar<long long>(app, "SELECT refunded FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)", order.id) ==
          order.total);
    CHECK(stock_level(app, product.variant_id).on_hand == 5);
  }

  TEST_CASE("orders: another customer's order is 404, customers on admin routes 403, anonymous callers 401") {
    TestApp app;
    auto admin = new_admin(app);
    auto owner = new_customer(app);
    auto other = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto order = order_of(app, owner, product, 1);

    auto peek = app.http().get("/api/v1/orders/" + order.id, other.token);
    CHECK(peek.status == 404);
    CHECK(problem_code(peek) == "not_found");
    CHECK(cancel(app, order.id, other.token).status == 404);
    CHECK(app.http().get("/api/v1/orders/" + order.id).status == 404);
    CHECK(cancel(app, order.id, {}).status == 404);
    auto others_list = app.http().get("/api/v1/orders", other.token);
    REQUIRE(others_list.status == 200);
    CHECK(others_list.json().at("items").as_array().empty());
    CHECK(app.http().get("/api/v1/orders/" + platform::new_uuid_v7(), owner.token).status == 404);

    const std::vector<std::pair<std::string, std::string>> admin_routes{
        {"GET", "/admin/v1/orders"},
        {"GET", "/admin/v1/orders/" + order.id},
        {"POST", "/admin/v1/orders/" + order.id + "/ship"},
        {"POST", "/admin/v1/orders/" + order.id + "/deliver"},
        {"POST", "/admin/v1/orders/" + order.id + "/refund"},
        {"GET", "/admin/v1/stats"}};
    for (const auto& [method, target] : admin_routes) {
      CAPTURE(target);
      const std::string body = method == "POST" ? R"({"carrier":"x","tracking_number":"y","reason":"z"})" : "";
      std::vector<std::pair<std::string, std::string>> headers;
      if (method == "POST") headers.emplace_back("Content-Type", "application/json");
      auto as_customer = app.http().send(HttpRequest{method, target, body, headers, owner.token});
      CHECK(as_customer.status == 403);
      auto anonymous = app.http().send(HttpRequest{method, target, body, headers, ""});
      CHECK(anonymous.status == 401);
      CHECK(anonymous.header("WWW-Authenticate").value_or("").rfind("Bearer", 0) == 0);
    }
    auto anonymous_list = app.http().get("/api/v1/orders");
    CHECK(anonymous_list.status == 401);
    // Nothing happened to the order.
    auto after = admin_order(app, admin, order.id);
    CHECK(after.at("status") == "paid");
    CHECK(after.at("refunded_total").at("amount") == 0);
  }

  TEST_CASE("orders: a guest cancels with its token only") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto order = guest_order_of(app, product, 1);
    const std::string token = str(order.order.at("guest_token"));
    auto customer = new_customer(app);

    CHECK(cancel(app, order.id, {}).status == 404);
    CHECK(cancel(app, order.id, customer.token).status == 404);
    CHECK(cancel(app, order.id, {}, token + "x").status == 404);
    auto cancelled = cancel(app, order.id, {}, token);
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    CHECK(cancelled.json().at("status") == "cancelled");
    CHECK(cancelled.json().at("payment_status") == "refunded");
    CHECK(stock_level(app, product.variant_id).on_hand == 5);
  }

  TEST_CASE("orders: customers list their own orders, newest first, by status and page by page") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 100, 50);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(order_of(app, customer, product, 1).id);
    ids.push_back(order_of(app, customer, product, 1, "tok_async").id);

    auto first = app.http().get("/api/v1/orders?limit=3", customer.token);
    REQUIRE_MESSAGE(first.status == 200, first.body);
    const auto page1 = first.json();
    REQUIRE(page1.at("items").as_array().size() == 3);
    CHECK(page1.at("items").at(0).at("id") == json::value(ids[3]));
    CHECK(page1.at("items").at(2).at("id") == json::value(ids[1]));
    CHECK(page1.at("items").at(0).at("items").as_array().size() == 1);
    REQUIRE(page1.at("next_cursor").is_string());
    auto second = app.http().get("/api/v1/orders?limit=3&cursor=" + str(page1.at("next_cursor")), customer.token);
    REQUIRE(second.status == 200);
    REQUIRE(second.json().at("items").as_array().size() == 1);
    CHECK(second.json().at("items").at(0).at("id") == json::value(ids[0]));
    CHECK(second.json().at("next_cursor").is_null());

    auto pending = app.http().get("/api/v1/orders?status=pending_payment", customer.token);
    REQUIRE(pending.status == 200);
    REQUIRE(pending.json().at("items").as_array().size() == 1);
    CHECK(pending.json().at("items").at(0).at("id") == json::value(ids[3]));
    CHECK(app.http().get("/api/v1/orders?status=lost", customer.token).status == 422);
    CHECK(app.http().get("/api/v1/orders?limit=0", customer.token).status == 422);
    CHECK(app.http().get("/api/v1/orders?limit=101", customer.token).status == 422);
    auto bad_cursor = app.http().get("/api/v1/orders?cursor=garbage", customer.token);
    CHECK((bad_cursor.status == 400 || bad_cursor.status == 422));
  }

  TEST_CASE("orders: with payments.capture on_ship the card is authorised at checkout and captured when shipped") {
    auto config = testing::test_config();
    config.set("payments.capture", "on_ship");
    TestApp app(config);
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto order = order_of(app, customer, product, 1);
    CHECK(order.order.at("status") == "paid");
    CHECK(order.order.at("payment_status") == "authorized");
    const std::string ledger = "SELECT captured FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)";
    CHECK(scalar<long long>(app, ledger, order.id) == 0);
    // Nothing was captured, so there is nothing to refund yet.
    auto early = refund(app, admin, order.id, 100);
    CHECK(early.status == 409);
    CHECK(problem_code(early) == "invalid_transition");

    auto shipped = ship(app, admin, order.id);
    REQUIRE_MESSAGE(shipped.status == 200, shipped.body);
    CHECK(shipped.json().at("payment_status") == "captured");
    CHECK(scalar<long long>(app, ledger, order.id) == order.total);
    auto partial = refund(app, admin, order.id, 100);
    REQUIRE_MESSAGE(partial.status == 200, partial.body);
    CHECK(partial.json().at("payment_status") == "partially_refunded");

    // Cancelling before shipping releases the authorisation: no money moved, so no refund either.
    auto cancelled_order = order_of(app, customer, product, 2);
    auto cancelled = cancel(app, cancelled_order.id, customer.token);
    REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
    CHECK(cancelled.json().at("status") == "cancelled");
    CHECK(cancelled.json().at("refunded_total").at("amount") == 0);
    CHECK(refund_rows(app, cancelled_order.id) == 0);
    CHECK(scalar<std::string>(app, "SELECT outcome FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)",
                              cancelled_order.id) == "failed");
    CHECK(stock_level(app, product.variant_id).on_hand == 9);
  }
}
