// Checkout over HTTP against the real PostgreSQL: guest and customer checkouts, saved addresses, declined
// payments, what makes a cart not checkoutable, validation, and the Idempotency-Key contract.
#include "orders/orders_support.hpp"

#include <atomic>
#include <thread>

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::checkout_body;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;
using testing::place_order;
using testing::stock_level;

TEST_SUITE("db.orders") {
  TEST_CASE("orders: shipping options come from config and set the order's shipping total") {
    TestApp app;
    auto options = app.http().get("/api/v1/shipping-options");
    REQUIRE(options.status == 200);
    const auto items = options.json().at("items").as_array();
    REQUIRE(items.size() == 2);
    CHECK(items[0] == json::value{{"id", "standard"}, {"name", "Standard (3-5 days)"}, {"price", {{"amount", 495}, {"currency", "EUR"}}}});
    CHECK(items[1].at("id") == "express");
    CHECK(items[1].at("price").at("amount") == 1495);

    auto admin = new_admin(app);
    auto product = new_product(app, admin, 2500, 5);
    const auto cart = new_cart(app, {}, {{product.variant_id, 2}});
    auto body = checkout_body(cart, "tok_visa", guest_email());
    body["shipping_option_id"] = "express";
    auto placed = place_order(app, body, {}, key("express"));
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    const auto order = placed.json();
    CHECK(order.at("subtotal").at("amount") == 5000);
    CHECK(order.at("shipping_total").at("amount") == 1495);
    CHECK(order.at("total") == json::value{{"amount", 6495}, {"currency", "EUR"}});
    CHECK(order.at("shipping_option").at("id") == "express");
    CHECK(order.at("shipping_option").at("price").at("amount") == 1495);

    const auto other_cart = new_cart(app, {}, {{product.variant_id, 1}});
    auto unknown = checkout_body(other_cart, "tok_visa", guest_email());
    unknown["shipping_option_id"] = "teleport";
    auto refused = place_order(app, unknown, {}, key("teleport"));
    CHECK(refused.status == 422);
    CHECK(problem_code(refused) == "validation_failed");
    CHECK(refused.json().at("errors").at(0).at("field") == "shipping_option_id");
  }

  TEST_CASE("orders: a guest checkout needs an email and gets a guest_token, once, that reads the order") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    const auto cart = new_cart(app, {}, {{product.variant_id, 1}});

    auto no_email = place_order(app, checkout_body(cart, "tok_visa"), {}, key("guest-no-email"));
    CHECK(no_email.status == 422);
    CHECK(problem_code(no_email) == "validation_failed");
    CHECK(no_email.json().at("errors").at(0).at("field") == "email");
    auto bad_email = place_order(app, checkout_body(cart, "tok_visa", "not-an-email"), {}, key("guest-bad-email"));
    CHECK(bad_email.status == 422);
    CHECK(stock_level(app, product.variant_id).reserved == 0);  // nothing was reserved for refused requests

    const std::string email = "Guest-" + testing::unique_suffix() + "@Example.com";
    auto placed = place_order(app, checkout_body(cart, "tok_visa", email), {}, key("guest"));
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    const auto order = placed.json();
    const std::string id = str(order.at("id"));
    CHECK(order.at("status") == "paid");
    CHECK(order.at("payment_status") == "captured");
    CHECK(str(order.at("email")) == [&] {
      std::string lower = email;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return lower;
    }());
    CHECK(placed.header("Location") == "/api/v1/orders/" + id);
    REQUIRE(order.as_object().contains("guest_token"));
    const std::string token = str(order.at("guest_token"));
    CHECK(token.size() >= 20);

    auto read = app.http().get("/api/v1/orders/" + id + "?token=" + token);
    REQUIRE_MESSAGE(read.status == 200, read.body);
    CHECK(read.json().at("id") == json::value(id));
    CHECK(read.json().at("number") == order.at("number"));
    CHECK_FALSE(read.json().as_object().contains("guest_token"));  // only in the creation response
    CHECK_FALSE(read.json().as_object().contains("history"));      // admin only

    CHECK(app.http().get("/api/v1/orders/" + id + "?token=" + token + "x").status == 404);
    CHECK(app.http().get("/api/v1/orders/" + id + "?token=").status == 404);
    auto no_token = app.http().get("/api/v1/orders/" + id);
    CHECK(no_token.status == 404);
    CHECK(problem_code(no_token) == "not_found");
    auto customer = new_customer(app);
    CHECK(app.http().get("/api/v1/orders/" + id, customer.token).status == 404);
    CHECK(app.http().get("/api/v1/orders/" + id + "?token=" + token, customer.token).status == 200);
  }

  TEST_CASE("orders: a customer can ship to a saved address of their own, not to anyone else's") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    auto customer = new_customer(app);
    auto other = new_customer(app);
    auto address_of = [&](const Shopper& who, const std::string& city) {
      auto r = app.http().post_json("/api/v1/me/addresses",
                                    json::object{{"first_name", "Ada"}, {"last_name", "Lovelace"},
                                                 {"line1", "1 Analytical Way"}, {"city", city},
                                                 {"postal_code", "75001"}, {"country", "FR"}},
                                    who.token);
      REQUIRE_MESSAGE(r.status == 201, r.body);
      return str(r.json().at("id"));
    };
    const auto mine = address_of(customer, "Paris");
    const auto theirs = address_of(other, "Lyon");

    const auto cart = new_cart(app, customer.token, {{product.variant_id, 1}});
    auto with = [&](const std::string& address_id) {
      auto body = checkout_body(cart, "tok_visa");
      body["shipping_address"] = json::object{{"address_id", address_id}};
      return body;
    };
    auto foreign = place_order(app, with(theirs), customer.token, key("foreign-address"));
    CHECK(foreign.status == 422);
    CHECK(problem_code(foreign) == "validation_failed");
    CHECK(foreign.json().at("errors").at(0).at("field") == "shipping_address.address_id");
    CHECK(place_order(app, with(platform::new_uuid_v7()), customer.token, key("unknown-address")).status == 422);
    CHECK(place_order(app, with("not-a-uuid"), customer.token, key("bad-address")).status == 422);
    CHECK(stock_level(app, product.variant_id).reserved == 0);

    auto placed = place_order(app, with(mine), customer.token, key("saved-address"));
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    const auto address = placed.json().at("shipping_address");
    CHECK(address.at("city") == "Paris");
    CHECK(address.at("line1") == "1 Analytical Way");
    CHECK(address.at("country") == "FR");
    CHECK(address.at("first_name") == "Ada");
    CHECK(placed.json().at("email") == json::value(customer.email));  // the account's email by default

    // A guest has no saved addresses.
    const auto guest_cart = new_cart(app, {}, {{product.variant_id, 1}});
    auto guest = checkout_body(guest_cart, "tok_visa", guest_email());
    guest["shipping_address"] = json::object{{"address_id", mine}};
    CHECK(place_order(app, guest, {}, key("guest-saved-address")).status == 422);
  }

  TEST_CASE("orders: a declined payment is 402, kept as a cancelled order, releases stock and leaves the cart open") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1500, 5);
    auto customer = new_customer(app);
    const auto cart = new_cart(app, customer.token, {{product.variant_id, 2}});

    auto declined = place_order(app, checkout_body(cart, "tok_declined"), customer.token, key("declined"));
    CHECK(declined.status == 402);
    CHECK(problem_code(declined) == "payment_declined");

    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 5);
    CHECK(level.reserved == 0);
    auto cart_doc = app.http().get("/api/v1/carts/" + cart, customer.token);
    REQUIRE(cart_doc.status == 200);
    CHECK(cart_doc.json().at("status") == "open");
    CHECK(cart_doc.json().at("item_count") == 2);

    auto listed = app.http().get("/admin/v1/orders?q=" + customer.email, admin.token);
    REQUIRE_MESSAGE(listed.status == 200, listed.body);
    const auto attempts = listed.json().at("items").as_array();
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].at("status") == "cancelled");
    CHECK(attempts[0].at("payment_status") == "failed");
    const std::string attempt_id = str(attempts[0].at("id"));
    auto history = admin_order(app, admin, attempt_id).at("history").as_array();
    REQUIRE(history.size() == 2);
    CHECK(history[0].at("status") == "pending_payment");
    CHECK(history[1].at("status") == "cancelled");
    CHECK(str(history[1].at("note")).find("payment_declined") != std::string::npos);
    CHECK(event_types(app, attempt_id) == std::vector<std::string>{"orders.order_placed", "orders.order_cancelled"});
    CHECK(event_payload(app, attempt_id, "orders.order_cancelled").at("reason") == "payment_declined");
    // The customer's own list shows the attempt too.
    auto own = app.http().get("/api/v1/orders", customer.token);
    REQUIRE(own.status == 200);
    CHECK(own.json().at("items").as_array().size() == 1);

    // Another card works, with the same cart.
    auto paid = place_order(app, checkout_body(cart, "tok_visa"), customer.token, key("second-card"));
    REQUIRE_MESSAGE(paid.status == 201, paid.body);
    CHECK(paid.json().at("status") == "paid");
    CHECK(paid.json().at("id") != json::value(attempt_id));
    level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 3);
    CHECK(level.reserved == 0);
    CHECK(cart_status(app, cart) == "completed");
    auto both = app.http().get("/admin/v1/orders?q=" + customer.email, admin.token);
    CHECK(both.json().at("items").as_array().size() == 2);
  }

  TEST_CASE("orders: prices come from the catalog at checkout, not from when the line was added") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    const auto cart = new_cart(app, {}, {{product.variant_id, 3}});
    auto repriced = app.http().patch_json(
        "/admin/v1/products/" + product.product_id + "/variants/" + product.variant_id,
        json::object{{"price", {{"amount", 1250}, {"currency", "EUR"}}}}, admin.token);
    REQUIRE_MESSAGE(repriced.status == 200, repriced.body);

    auto body = checkout_body(cart, "tok_visa", guest_email());
    body["subtotal"] = json::object{{"amount", 1}, {"currency", "EUR"}};  // whatever a client claims
    auto placed = place_order(app, body, {}, key("reprice"));
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    const auto order = placed.json();
    REQUIRE(order.at("items").as_array().size() == 1);
    CHECK(order.at("items").at(0).at("unit_price").at("amount") == 1250);
    CHECK(order.at("items").at(0).at("line_total").at("amount") == 3750);
    CHECK(order.at("items").at(0).at("sku") == json::value(product.sku));
    CHECK(order.at("items").at(0).at("quantity") == 3);
    CHECK(order.at("subtotal").at("amount") == 3750);
    CHECK(order.at("total").at("amount") == 3750 + 495);
  }

  TEST_CASE("orders: empty, completed, unavailable, understocked, unknown and foreign carts are refused") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto owner = new_customer(app);
    auto other = new_customer(app);

    const auto empty = new_cart(app, {}, {});
    auto r = place_order(app, checkout_body(empty, "tok_visa", guest_email()), {}, key("empty"));
    CHECK(r.status == 409);
    CHECK(problem_code(r) == "cart_not_checkoutable");

    const auto done = new_cart(app, {}, {{product.variant_id, 1}});
    REQUIRE(place_order(app, checkout_body(done, "tok_visa", guest_email()), {}, key("done")).status == 201);
    r = place_order(app, checkout_body(done, "tok_visa", guest_email()), {}, key("done-again"));
    CHECK(r.status == 409);
    CHECK(problem_code(r) == "cart_not_checkoutable");

    auto archived = new_product(app, admin, 1000, 5);
    const auto stale = new_cart(app, {}, {{archived.variant_id, 1}, {product.variant_id, 1}});
    REQUIRE(app.http().del("/admin/v1/products/" + archived.product_id, admin.token).status == 204);
    r = place_order(app, checkout_body(stale, "tok_visa", guest_email()), {}, key("archived"));
    CHECK(r.status == 409);
    CHECK(problem_code(r) == "cart_not_checkoutable");

    auto scarce = new_product(app, admin, 1000, 5);
    const auto greedy = new_cart(app, {}, {{scarce.variant_id, 4}, {product.variant_id, 1}});
    REQUIRE(testing::set_stock(app, admin, scarce.variant_id, 2).status == 200);
    const auto before = stock_level(app, product.variant_id);
    r = place_order(app, checkout_body(greedy, "tok_visa", guest_email()), {}, key("greedy"));
    CHECK(r.status == 409);
    CHECK(problem_code(r) == "insufficient_stock");
    CHECK(str(r.json().at("detail")).find(scarce.sku) != std::string::npos);  // names the line
    // All or nothing: the other line's stock was not held either.
    CHECK(stock_level(app, product.variant_id).reserved == before.reserved);
    CHECK(stock_level(app, scarce.variant_id).reserved == 0);
    CHECK(cart_status(app, greedy) == "open");

    CHECK(place_order(app, checkout_body(platform::new_uuid_v7(), "tok_visa", guest_email()), {}, key("unknown")).status == 404);
    const auto owned = new_cart(app, owner.token, {{product.variant_id, 1}});
    r = place_order(app, checkout_body(owned, "tok_visa"), other.token, key("foreign"));
    CHECK(r.status == 404);
    CHECK(place_order(app, checkout_body(owned, "tok_visa", guest_email()), {}, key("foreign-anon")).status == 404);
    CHECK(cart_status(app, owned) == "open");
  }

  TEST_CASE("orders: invalid checkout bodies are 400/422 and use up nothing") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    const auto cart = new_cart(app, {}, {{product.variant_id, 1}});
    const auto valid = checkout_body(cart, "tok_visa", guest_email());

    auto without = [&](const char* field) {
      auto body = valid;
      body.erase(field);
      return body;
    };
    std::vector<json::object> bodies{without("cart_id"), without("shipping_address"), without("shipping_option_id"),
                                     without("payment")};
    auto bad_cart = valid;
    bad_cart["cart_id"] = "not-a-uuid";
    bodies.push_back(bad_cart);
    auto bad_method = valid;
    bad_method["payment"] = json::object{{"method", "bitcoin"}, {"token", "tok_visa"}};
    bodies.push_back(bad_method);
    auto no_token = valid;
    no_token["payment"] = json::object{{"method", "test_card"}};
    bodies.push_back(no_token);
    auto bad_address = valid;
    bad_address["shipping_address"].as_object().erase("city");
    bodies.push_back(bad_address);
    auto bad_country = valid;
    bad_country["shipping_address"].as_object()["country"] = "Germany";
    bodies.push_back(bad_country);
    for (const auto& body : bodies) {
      auto r = place_order(app, body, {}, key("invalid"));
      CHECK_MESSAGE(r.status == 422, json::serialize(body), " → ", r.body);
      if (r.status == 422) CHECK(problem_code(r) == "validation_failed");
    }
    auto broken = app.http().send(HttpRequest{"POST", "/api/v1/orders", "{\"cart_id\":",
                                              {{"Content-Type", "application/json"}, {"Idempotency-Key", key("broken")}}, ""});
    CHECK(broken.status == 400);
    CHECK(stock_level(app, product.variant_id).reserved == 0);
    CHECK(cart_status(app, cart) == "open");

    // A request that failed validation does not use up its key.
    const std::string reused = key("fixed-later");
    auto first = place_order(app, without("shipping_option_id"), {}, reused);
    CHECK(first.status == 422);
    auto fixed = place_order(app, valid, {}, reused);
    CHECK(fixed.status == 201);
  }

  TEST_CASE("orders: the same Idempotency-Key replays the order; with another body it is 422 idempotency_key_reused") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    auto customer = new_customer(app);
    const auto cart = new_cart(app, customer.token, {{product.variant_id, 2}});
    const std::string k = key("checkout");
    const auto body = checkout_body(cart, "tok_visa");

    auto first = place_order(app, body, customer.token, k);
    REQUIRE_MESSAGE(first.status == 201, first.body);
    CHECK_FALSE(first.header("Idempotent-Replayed"));
    auto replay = place_order(app, body, customer.token, k);
    CHECK(replay.status == 201);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.body == first.body);
    auto changed = body;
    changed["shipping_option_id"] = "express";
    auto reused = place_order(app, changed, customer.token, k);
    CHECK(reused.status == 422);
    CHECK(problem_code(reused) == "idempotency_key_reused");

    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(stock_level(app, product.variant_id).on_hand == 3);
    CHECK(refund_rows(app, str(first.json().at("id"))) == 0);
  }

  TEST_CASE("orders: concurrent duplicates of one checkout make one order") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 50);
    const auto cart = new_cart(app, {}, {{product.variant_id, 1}});
    const auto body = checkout_body(cart, "tok_visa", guest_email());
    const std::string k = key("duplicate");
    constexpr int kRequests = 6;
    std::vector<HttpResponse> responses(kRequests);
    std::vector<std::thread> threads;
    for (int i = 0; i < kRequests; ++i) {
      threads.emplace_back([&, i] { responses[static_cast<std::size_t>(i)] = place_order(app, body, {}, k); });
    }
    for (auto& t : threads) t.join();

    int created = 0, replayed = 0, in_progress = 0;
    std::string order_id;
    for (const auto& r : responses) {
      if (r.status == 201 && !r.header("Idempotent-Replayed")) {
        ++created;
        order_id = str(r.json().at("id"));
      } else if (r.status == 201) {
        ++replayed;
      } else if (r.status == 409 && problem_code(r) == "idempotency_key_in_progress") {
        ++in_progress;
      } else {
        FAIL_CHECK("unexpected response " << r.status << " " << r.body);
      }
    }
    CHECK(created == 1);
    CHECK(created + replayed + in_progress == kRequests);
    for (const auto& r : responses) {
      if (r.status == 201) CHECK(str(r.json().at("id")) == order_id);
    }
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 49);
    CHECK(level.reserved == 0);

    // Without a key, a second checkout of the same cart is refused rather than a second order.
    auto again = app.http().post_json("/api/v1/orders", body);
    CHECK(again.status == 409);
    CHECK(problem_code(again) == "cart_not_checkoutable");
  }
}
