// Crash points of the checkout saga, simulated by putting the database where a crash would have left it,
// then letting the safety nets run: the catalog's reservation sweeper, the orders reconciler, and a
// client's retry with the same Idempotency-Key. Nothing is lost and nothing stays stranded.
#include "orders/authorization_hook.hpp"
#include "orders/orders_support.hpp"

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::checkout_body;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;
using testing::place_order;
using testing::run_job;
using testing::stock_level;

namespace {

// Puts a finished order's stock back into the state "reserved for the order, not yet confirmed".
void unconfirm_stock(TestApp& app, const std::string& order_id) {
  app.platform().db().transaction_sync([&](platform::Tx& tx) {
    tx.sql() << R"sql(
        UPDATE catalog.variants v SET on_hand = v.on_hand + r.quantity, reserved = v.reserved + r.quantity
        FROM catalog.reservations r WHERE r.order_id = CAST(:p AS uuid) AND r.status = 'confirmed' AND v.id = r.variant_id)sql",
        soci::use(order_id, "p");
    tx.sql() << "UPDATE catalog.reservations SET status = 'held', expires_at = now() + interval '15 minutes' "
                "WHERE order_id = CAST(:p AS uuid)",
        soci::use(order_id, "p");
    tx.sql() << "UPDATE orders.orders SET stock_state = 'reserved' WHERE id = CAST(:p AS uuid)", soci::use(order_id, "p");
  });
}

// Puts a released reservation back to held (the release step "did not happen").
void unrelease_stock(TestApp& app, const std::string& order_id) {
  app.platform().db().transaction_sync([&](platform::Tx& tx) {
    tx.sql() << R"sql(
        UPDATE catalog.variants v SET reserved = v.reserved + r.quantity
        FROM catalog.reservations r WHERE r.order_id = CAST(:p AS uuid) AND r.status = 'released' AND v.id = r.variant_id)sql",
        soci::use(order_id, "p");
    tx.sql() << "UPDATE catalog.reservations SET status = 'held', expires_at = now() + interval '15 minutes' "
                "WHERE order_id = CAST(:p AS uuid)",
        soci::use(order_id, "p");
    tx.sql() << "UPDATE orders.orders SET stock_state = 'reserved' WHERE id = CAST(:p AS uuid)", soci::use(order_id, "p");
  });
}

// Reopens the cart of an order (the completion step "did not happen").
void reopen_cart(TestApp& app, const std::string& order_id, const std::string& cart_id) {
  exec_sql(app, "UPDATE cart.carts SET status = 'open', order_id = NULL, completed_at = NULL WHERE id = CAST(:p AS uuid)",
           cart_id);
  exec_sql(app, "UPDATE orders.orders SET cart_completed = false WHERE id = CAST(:p AS uuid)", order_id);
}

std::string order_field(TestApp& app, const std::string& order_id, const std::string& column) {
  return scalar<std::string>(app, "SELECT " + column + "::text FROM orders.orders WHERE id = CAST(:p AS uuid)", order_id);
}

std::string cart_order(TestApp& app, const std::string& cart_id) {
  return scalar<std::string>(app, "SELECT coalesce(order_id::text, '') FROM cart.carts WHERE id = CAST(:p AS uuid)",
                             cart_id);
}

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: crash after reserving, before the order exists: the sweeper releases the expired reservation") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    const std::string orphan = platform::new_uuid_v7();
    const std::string live = platform::new_uuid_v7();
    app.platform().db().transaction_sync([&](platform::Tx& tx) {
      tx.sql() << R"sql(INSERT INTO catalog.reservations (order_id, variant_id, quantity, status, expires_at)
                        VALUES (CAST(:o AS uuid), CAST(:v AS uuid), 3, 'held', now() - interval '1 minute'),
                               (CAST(:l AS uuid), CAST(:v AS uuid), 2, 'held', now() + interval '15 minutes'))sql",
          soci::use(orphan, "o"), soci::use(product.variant_id, "v"), soci::use(live, "l");
      tx.sql() << "UPDATE catalog.variants SET reserved = reserved + 5 WHERE id = CAST(:v AS uuid)",
          soci::use(product.variant_id, "v");
    });
    CHECK(stock_level(app, product.variant_id).available == 5);
    // While held, the stock is not for sale.
    const auto cart = new_cart(app, {}, {});
    auto too_many = app.http().post_json("/api/v1/carts/" + cart + "/items",
                                         json::object{{"variant_id", product.variant_id}, {"quantity", 6}});
    CHECK(too_many.status == 409);

    run_job(app, "catalog-reservation-sweeper");

    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 10);
    CHECK(level.reserved == 2);  // only the unexpired reservation is still held
    CHECK(scalar<std::string>(app, "SELECT status FROM catalog.reservations WHERE order_id = CAST(:p AS uuid)", orphan) ==
          "released");
    CHECK(scalar<std::string>(app, "SELECT status FROM catalog.reservations WHERE order_id = CAST(:p AS uuid)", live) ==
          "held");
    // Sweeping again changes nothing.
    run_job(app, "catalog-reservation-sweeper");
    CHECK(stock_level(app, product.variant_id).reserved == 2);

    // Tidy up the fake live reservation the same way.
    exec_sql(app, "UPDATE catalog.reservations SET expires_at = now() - interval '1 second' WHERE order_id = CAST(:p AS uuid)",
             live);
    run_job(app, "catalog-reservation-sweeper");
    CHECK(stock_level(app, product.variant_id).reserved == 0);
  }

  TEST_CASE("orders: an order left in pending_payment past the timeout is cancelled by the reconciler, stock released") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto stuck = order_of(app, customer, product, 2, "tok_async");
    auto fresh = order_of(app, customer, product, 1, "tok_async");
    CHECK(stock_level(app, product.variant_id).reserved == 3);
    age_past_payment_timeout(app, stuck.id);

    run_job(app, "orders-reconcile");

    auto doc = admin_order(app, admin, stuck.id);
    CHECK(doc.at("status") == "cancelled");
    CHECK(doc.at("payment_status") == "failed");
    CHECK(str(doc.at("history").as_array().back().at("note")).find("payment_timeout") != std::string::npos);
    CHECK(event_payload(app, stuck.id, "orders.order_cancelled").at("reason") == "payment_timeout");
    CHECK(order_field(app, stuck.id, "stock_state") == "released");
    CHECK(scalar<std::string>(app, "SELECT outcome FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)", stuck.id) ==
          "failed");
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 10);
    CHECK(level.reserved == 1);  // the fresh order still holds its unit
    CHECK(admin_order(app, admin, fresh.id).at("status") == "pending_payment");

    // Running it again is harmless.
    const auto history_size = doc.at("history").as_array().size();
    run_job(app, "orders-reconcile");
    CHECK(admin_order(app, admin, stuck.id).at("history").as_array().size() == history_size);
    CHECK(stock_level(app, product.variant_id).reserved == 1);
  }

  TEST_CASE("orders: a payment the order never heard of is found by the reconciler: paid, stock confirmed, cart done") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto order = order_of(app, customer, product, 2, "tok_async");
    // The provider captured the money, but its webhook never arrived; the cart step was lost too.
    exec_sql(app, "UPDATE orders.test_payments SET outcome = 'captured', captured = amount WHERE order_id = CAST(:p AS uuid)",
             order.id);
    reopen_cart(app, order.id, order.cart_id);
    age_past_payment_timeout(app, order.id);

    run_job(app, "orders-reconcile");

    auto doc = admin_order(app, admin, order.id);
    CHECK(doc.at("status") == "paid");
    CHECK(doc.at("payment_status") == "captured");
    CHECK(str(doc.at("history").as_array().back().at("note")).find("reconciler") != std::string::npos);
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 8);
    CHECK(level.reserved == 0);
    CHECK(order_field(app, order.id, "stock_state") == "confirmed");
    CHECK(order_field(app, order.id, "cart_completed") == "true");
    CHECK(cart_status(app, order.cart_id) == "completed");
    CHECK(cart_order(app, order.cart_id) == order.id);
    CHECK(event_types(app, order.id) == std::vector<std::string>{"orders.order_placed", "orders.order_paid"});
  }

  TEST_CASE("orders: a paid order whose stock confirmation and cart completion were lost is finished by the reconciler") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto paid = order_of(app, customer, product, 2);
    auto declined_cart = new_cart(app, {}, {{product.variant_id, 3}});
    REQUIRE(place_order(app, checkout_body(declined_cart, "tok_declined", guest_email()), {}, key("declined")).status == 402);
    const std::string declined_id = scalar<std::string>(
        app, "SELECT id::text FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", declined_cart);
    CHECK(stock_level(app, product.variant_id).on_hand == 8);

    // Crash after "paid" was committed, before confirm and complete; and after "cancelled", before release.
    unconfirm_stock(app, paid.id);
    reopen_cart(app, paid.id, paid.cart_id);
    unrelease_stock(app, declined_id);
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 10);
    CHECK(level.reserved == 5);

    run_job(app, "orders-reconcile");

    level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 8);
    CHECK(level.reserved == 0);
    CHECK(order_field(app, paid.id, "stock_state") == "confirmed");
    CHECK(order_field(app, paid.id, "cart_completed") == "true");
    CHECK(cart_status(app, paid.cart_id) == "completed");
    CHECK(cart_order(app, paid.cart_id) == paid.id);
    CHECK(order_field(app, declined_id, "stock_state") == "released");
    CHECK(cart_status(app, declined_cart) == "open");  // a declined attempt never completes the cart
    CHECK(admin_order(app, admin, paid.id).at("status") == "paid");
  }

  TEST_CASE("orders: with the provider unreachable the reconciler still finishes interrupted sagas; unpaid orders wait") {
    auto hook = std::make_shared<AuthorizationHook>();
    TestApp app(testing::test_config(), [&](bazaar::app::Application& a) { hook->install(a); });
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto stuck = order_of(app, customer, product, 2, "tok_async");
    age_past_payment_timeout(app, stuck.id);
    auto paid = order_of(app, customer, product, 1);
    unconfirm_stock(app, paid.id);  // a crash after "paid", before its stock and cart steps
    reopen_cart(app, paid.id, paid.cart_id);

    // The unpaid order needs the provider, which cannot be reached: it stays as it is, and the pass goes on
    // to the paid order, which needs no provider.
    hook->set_unreachable(true);
    run_job(app, "orders-reconcile");
    CHECK(admin_order(app, admin, stuck.id).at("status") == "pending_payment");
    CHECK(order_field(app, paid.id, "stock_state") == "confirmed");
    CHECK(cart_status(app, paid.cart_id) == "completed");
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 9);
    CHECK(level.reserved == 2);  // the unpaid order's units, still held

    // The provider is back: the next pass cancels the unpaid order and releases its stock.
    hook->set_unreachable(false);
    run_job(app, "orders-reconcile");
    CHECK(admin_order(app, admin, stuck.id).at("status") == "cancelled");
    level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 9);
    CHECK(level.reserved == 0);
  }

  TEST_CASE("orders: a retried checkout after the key's lock expired returns the same order, not a second one") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, customer.token, {{product.variant_id, 2}});
    const std::string k = key("crash-retry");
    const auto body = checkout_body(cart, "tok_visa");
    auto first = place_order(app, body, customer.token, k);
    REQUIRE_MESSAGE(first.status == 201, first.body);
    const std::string order_id = str(first.json().at("id"));

    // The first request "died" before its response was stored: the key is still in progress.
    exec_sql(app,
             "UPDATE platform.idempotency_keys SET status = 'in_progress', response_status = NULL, response_body = NULL, "
             "response_type = NULL, locked_until = now() + interval '1 minute' WHERE key = :p",
             k);
    auto locked = place_order(app, body, customer.token, k);
    CHECK(locked.status == 409);
    CHECK(problem_code(locked) == "idempotency_key_in_progress");

    exec_sql(app, "UPDATE platform.idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = :p", k);
    auto retried = place_order(app, body, customer.token, k);
    REQUIRE_MESSAGE(retried.status == 201, retried.body);
    CHECK_FALSE(retried.header("Idempotent-Replayed"));
    CHECK(retried.json().at("id") == json::value(order_id));
    CHECK(retried.json().at("status") == "paid");
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(stock_level(app, product.variant_id).on_hand == 8);
    // From now on the stored response is replayed.
    auto replay = place_order(app, body, customer.token, k);
    CHECK(replay.status == 201);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.json().at("id") == json::value(order_id));
  }

  TEST_CASE("orders: a checkout that crashed right after creating its order is finished by its retry") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, customer.token, {{product.variant_id, 2}});
    const std::string k = key("crash-before-pay");
    const auto body = checkout_body(cart, "tok_visa");
    auto first = place_order(app, body, customer.token, k);
    REQUIRE_MESSAGE(first.status == 201, first.body);
    const std::string order_id = str(first.json().at("id"));

    // Back to the moment after the order (pending_payment, stock held) was committed: no payment yet, the
    // cart still open, the key still in progress and its lock expired.
    unconfirm_stock(app, order_id);
    reopen_cart(app, order_id, cart);
    exec_sql(app,
             "UPDATE orders.orders SET status = 'pending_payment', payment_status = 'pending', payment_reference = NULL, "
             "paid_at = NULL WHERE id = CAST(:p AS uuid)",
             order_id);
    exec_sql(app, "DELETE FROM orders.order_history WHERE order_id = CAST(:p AS uuid) AND status <> 'pending_payment'",
             order_id);
    exec_sql(app, "DELETE FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)", order_id);
    exec_sql(app,
             "UPDATE platform.idempotency_keys SET status = 'in_progress', response_status = NULL, response_body = NULL, "
             "response_type = NULL, locked_until = now() - interval '1 second' WHERE key = :p",
             k);
    CHECK(stock_level(app, product.variant_id).reserved == 2);

    auto retried = place_order(app, body, customer.token, k);
    REQUIRE_MESSAGE(retried.status == 201, retried.body);
    CHECK(retried.json().at("id") == json::value(order_id));
    CHECK(retried.json().at("status") == "paid");
    CHECK(retried.json().at("payment_status") == "captured");
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 8);
    CHECK(level.reserved == 0);
    CHECK(cart_status(app, cart) == "completed");
    CHECK(cart_order(app, cart) == order_id);
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.test_payments WHERE order_id = CAST(:p AS uuid)", order_id) ==
          1);
    const auto history = admin_order(app, admin, order_id).at("history").as_array();
    REQUIRE(history.size() == 2);
    CHECK(history[1].at("status") == "paid");

    // A different key for the same cart is refused rather than making a second order.
    auto other_key = place_order(app, body, customer.token, key("other-key"));
    CHECK(other_key.status == 409);
    CHECK(problem_code(other_key) == "cart_not_checkoutable");
  }

  TEST_CASE("orders: a guest whose checkout response was lost gets the same order and a token that reads it") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, {}, {{product.variant_id, 1}});
    const std::string k = key("guest-crash");
    const auto body = checkout_body(cart, "tok_visa", guest_email());
    auto first = place_order(app, body, {}, k);
    REQUIRE_MESSAGE(first.status == 201, first.body);
    const std::string order_id = str(first.json().at("id"));
    const std::string lost_token = str(first.json().at("guest_token"));

    // The response never reached the guest: the key is left in progress, its lock expired.
    exec_sql(app,
             "UPDATE platform.idempotency_keys SET status = 'in_progress', response_status = NULL, response_body = NULL, "
             "response_type = NULL, locked_until = now() - interval '1 second' WHERE key = :p",
             k);
    auto retried = place_order(app, body, {}, k);
    REQUIRE_MESSAGE(retried.status == 201, retried.body);
    CHECK(retried.json().at("id") == json::value(order_id));
    REQUIRE_MESSAGE(retried.json().as_object().contains("guest_token"), retried.body);
    const std::string token = str(retried.json().at("guest_token"));
    auto read = app.http().get("/api/v1/orders/" + order_id + "?token=" + token);
    CHECK(read.status == 200);
    CHECK(read.json().at("status") == "paid");
    CHECK(app.http().get("/api/v1/orders/" + order_id + "?token=" + lost_token).status == 404);  // never delivered
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(stock_level(app, product.variant_id).on_hand == 9);
    // From now on the stored response (with that token) is replayed.
    auto replay = place_order(app, body, {}, k);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.json().at("guest_token") == json::value(token));
  }
}
