// The whole storefront over HTTP, as a customer and an admin use it.
#include "support/shop.hpp"

#include <doctest/doctest.h>

using namespace bazaar;
using namespace bazaar::testing;
namespace json = boost::json;

TEST_SUITE("db.flows") {
  TEST_CASE("flow: register, fill a cart, check out with tok_visa, ship and deliver") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1999, 5);

    const auto cart_id = new_cart(app, customer.token, {{product.variant_id, 2}});
    auto cart = app.http().get("/api/v1/carts/" + cart_id, customer.token);
    REQUIRE(cart.status == 200);
    CHECK(cart.json().at("subtotal").at("amount") == 3998);
    CHECK(cart.json().at("item_count") == 2);

    auto placed = place_order(app, checkout_body(cart_id, "tok_visa"), customer.token, "flow-" + unique_suffix());
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    auto order = placed.json().as_object();
    const std::string order_id = json::value_to<std::string>(order.at("id"));
    CHECK(order.at("status") == "paid");
    CHECK(order.at("payment_status") == "captured");
    CHECK(order.at("email") == json::value(customer.email));
    CHECK(order.at("subtotal").at("amount") == 3998);
    CHECK(order.at("shipping_total").at("amount") == 495);
    CHECK(order.at("total").at("amount") == 4493);
    CHECK(json::value_to<std::string>(order.at("number")).rfind("BZR-", 0) == 0);
    CHECK_FALSE(order.contains("guest_token"));

    // Stock left on_hand; the cart is completed by the order.
    auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 3);
    CHECK(level.reserved == 0);
    CHECK(app.http().get("/api/v1/carts/" + cart_id, customer.token).json().at("status") == "completed");

    auto shipped = app.http().post_json("/admin/v1/orders/" + order_id + "/ship",
                                        json::object{{"carrier", "DHL"}, {"tracking_number", "JD0001"}}, admin.token);
    REQUIRE_MESSAGE(shipped.status == 200, shipped.body);
    CHECK(shipped.json().at("status") == "shipped");
    CHECK(shipped.json().at("tracking").at("tracking_number") == "JD0001");

    auto delivered = app.http().post_json("/admin/v1/orders/" + order_id + "/deliver", json::object{}, admin.token);
    REQUIRE_MESSAGE(delivered.status == 200, delivered.body);
    CHECK(delivered.json().at("status") == "delivered");
    CHECK(delivered.json().at("history").as_array().size() == 4);

    auto mine = app.http().get("/api/v1/orders", customer.token);
    REQUIRE(mine.status == 200);
    CHECK(mine.json().at("items").as_array().size() == 1);

    // The customer's own order is visible to them and to no one else.
    auto other = new_customer(app);
    CHECK(app.http().get("/api/v1/orders/" + order_id, other.token).status == 404);
    CHECK(app.http().get("/api/v1/orders/" + order_id, customer.token).status == 200);

    // Events for notifications were published in order.
    std::vector<std::string> types;
    app.platform().db().run_sync([&](soci::session& s) {
      soci::rowset<std::string> rows = (s.prepare << "SELECT type FROM platform.outbox WHERE aggregate_id = :id ORDER BY id",
                                        soci::use(order_id));
      for (const auto& t : rows) types.push_back(t);
    });
    CHECK(types == std::vector<std::string>{"orders.order_placed", "orders.order_paid", "orders.order_shipped",
                                            "orders.order_delivered"});
  }
}
