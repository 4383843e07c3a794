// Carts over time, against the real PostgreSQL: claiming a guest cart (adopt or merge), warnings after
// the catalog changes under a cart, concurrent adds, abandonment and account deletion.
#include "cart/cart_support.hpp"

#include <platform/ids.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace bazaar;
using namespace bazaar::cart_test;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;

TEST_SUITE("db.cart") {
  TEST_CASE("cart: claiming adopts the guest cart when the customer has no open cart") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1200, 10);
    auto customer = new_customer(app);
    const std::string guest_cart = new_cart(app, {}, {{product.variant_id, 2}});

    auto claimed = claim(app, guest_cart, customer.token);
    REQUIRE_MESSAGE(claimed.status == 200, claimed.body);
    CHECK(claimed.json().at("id") == json::value(guest_cart));
    CHECK(claimed.json().at("status") == "open");
    CHECK(quantity_of(claimed.json(), product.variant_id) == 2);
    auto mine = app.http().get("/api/v1/me/cart", customer.token);
    REQUIRE(mine.status == 200);
    CHECK(mine.json().at("id") == json::value(guest_cart));

    // It is the customer's now: no longer readable as a guest cart, nor claimable by someone else.
    CHECK(get_cart(app, guest_cart).status == 404);
    auto other = new_customer(app);
    CHECK(claim(app, guest_cart, other.token).status == 404);
    // Claiming it again is harmless.
    auto again = claim(app, guest_cart, customer.token);
    REQUIRE(again.status == 200);
    CHECK(quantity_of(again.json(), product.variant_id) == 2);
  }

  TEST_CASE("cart: claiming merges into the open cart: quantities add up, capped by availability, with warnings") {
    TestApp app;
    auto admin = new_admin(app);
    auto scarce = new_product(app, admin, 1000, 5);
    auto plenty = new_product(app, admin, 200, 50);
    auto only_guest = new_product(app, admin, 300, 50);
    auto customer = new_customer(app);
    const std::string own_cart = new_cart(app, customer.token, {{scarce.variant_id, 3}, {plenty.variant_id, 1}});
    const std::string guest_cart = new_cart(app, {}, {{scarce.variant_id, 4}, {only_guest.variant_id, 2}});
    const std::string own_scarce_item = str(line_of(get_cart(app, own_cart, customer.token).json(), scarce.variant_id)->at("id"));

    auto merged = claim(app, guest_cart, customer.token);
    REQUIRE_MESSAGE(merged.status == 200, merged.body);
    const auto doc = merged.json();
    CHECK(doc.at("id") == json::value(own_cart));
    CHECK(quantity_of(doc, scarce.variant_id) == 5);  // 3 + 4, capped at the 5 available
    CHECK(quantity_of(doc, plenty.variant_id) == 1);
    CHECK(quantity_of(doc, only_guest.variant_id) == 2);
    CHECK(doc.at("items").as_array().size() == 3);
    CHECK(doc.at("item_count") == 8);
    CHECK(doc.at("subtotal").at("amount") == 5 * 1000 + 200 + 2 * 300);
    // The capped line is reported, and the warning points at the line in the merged cart.
    REQUIRE(warning_codes(doc) == std::vector<std::string>{"insufficient_stock"});
    CHECK(doc.at("warnings").at(0).at("item_id") == json::value(own_scarce_item));
    CHECK(line_of(doc, scarce.variant_id)->at("id") == json::value(own_scarce_item));

    // The guest cart is gone; the merged cart is what the customer sees.
    CHECK(get_cart(app, guest_cart).status == 404);
    CHECK(get_cart(app, guest_cart, customer.token).status == 404);
    CHECK(claim(app, guest_cart, customer.token).status == 404);
    CHECK(count_rows(app, "SELECT count(*) FROM cart.carts WHERE id = CAST(:id AS uuid)", guest_cart) == 0);
    auto mine = app.http().get("/api/v1/me/cart", customer.token);
    REQUIRE(mine.status == 200);
    CHECK(mine.json().at("id") == json::value(own_cart));
    CHECK(quantity_of(mine.json(), scarce.variant_id) == 5);
  }

  TEST_CASE("cart: claiming needs a login, and other customers' carts and unknown carts are 404") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 100, 10);
    auto owner = new_customer(app);
    auto thief = new_customer(app);
    const std::string guest_cart = new_cart(app, {}, {{product.variant_id, 1}});
    const std::string owned_cart = new_cart(app, owner.token, {{product.variant_id, 1}});

    auto anonymous = claim(app, guest_cart, {});
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate").value_or("").rfind("Bearer", 0) == 0);
    CHECK(get_cart(app, guest_cart).status == 200);  // still a guest cart

    auto stolen = claim(app, owned_cart, thief.token);
    CHECK(stolen.status == 404);
    CHECK(problem_code(stolen) == "not_found");
    CHECK(get_cart(app, owned_cart, owner.token).status == 200);
    CHECK(claim(app, platform::new_uuid_v7(), thief.token).status == 404);

    // A guest cart that was checked out is no longer claimable.
    auto placed = testing::place_order(app, testing::checkout_body(guest_cart, "tok_visa", "g@example.com"), {},
                                       "claim-done-" + testing::unique_suffix());
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    auto done = claim(app, guest_cart, thief.token);
    CHECK(done.status == 409);
    CHECK(problem_code(done) == "cart_not_open");
    CHECK(app.http().get("/api/v1/me/cart", thief.token).status == 404);
  }

  TEST_CASE("cart: warnings report a changed price, stock that fell below the quantity and an archived product") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    auto steady = new_product(app, admin, 250, 10);
    auto customer = new_customer(app);
    const std::string cart_id = new_cart(app, customer.token, {{product.variant_id, 5}, {steady.variant_id, 1}});
    auto before = get_cart(app, cart_id, customer.token).json();
    CHECK(before.at("warnings").as_array().empty());
    const std::string item_id = str(line_of(before, product.variant_id)->at("id"));

    auto repriced = app.http().patch_json(
        "/admin/v1/products/" + product.product_id + "/variants/" + product.variant_id,
        json::object{{"price", {{"amount", 1200}, {"currency", "EUR"}}}}, admin.token);
    REQUIRE_MESSAGE(repriced.status == 200, repriced.body);
    auto after_price = get_cart(app, cart_id, customer.token).json();
    CHECK(warning_codes(after_price, item_id) == std::vector<std::string>{"price_changed"});
    CHECK(line_of(after_price, product.variant_id)->at("unit_price").at("amount") == 1200);
    CHECK(line_of(after_price, product.variant_id)->at("line_total").at("amount") == 6000);
    CHECK(after_price.at("subtotal").at("amount") == 6000 + 250);
    CHECK_FALSE(str(after_price.at("warnings").at(0).at("message")).empty());

    auto lowered = testing::set_stock(app, admin, product.variant_id, 2);
    REQUIRE_MESSAGE(lowered.status == 200, lowered.body);
    auto after_stock = get_cart(app, cart_id, customer.token).json();
    auto codes = warning_codes(after_stock, item_id);
    CHECK(std::find(codes.begin(), codes.end(), "insufficient_stock") != codes.end());
    CHECK(std::find(codes.begin(), codes.end(), "price_changed") != codes.end());
    CHECK(quantity_of(after_stock, product.variant_id) == 5);  // reported, never silently changed

    REQUIRE(app.http().del("/admin/v1/products/" + product.product_id, admin.token).status == 204);
    auto after_archive = get_cart(app, cart_id, customer.token).json();
    CHECK(warning_codes(after_archive, item_id) == std::vector<std::string>{"unavailable"});
    CHECK(warning_codes(after_archive).size() == 1);  // the steady line is fine
    CHECK(after_archive.at("subtotal").at("amount") == 250);  // unavailable lines are not counted
    CHECK(quantity_of(after_archive, product.variant_id) == 5);

    // An unavailable line can still be removed.
    auto removed = remove_item(app, cart_id, item_id, customer.token);
    REQUIRE(removed.status == 200);
    CHECK(removed.json().at("warnings").as_array().empty());
  }

  TEST_CASE("cart: 20 parallel adds of 1 to the same line end at quantity 20") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 100, 100);
    const std::string cart_id = new_cart(app, {}, {});
    std::atomic<int> ok{0};
    std::vector<int> statuses(20);
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i) {
      threads.emplace_back([&, i] {
        auto r = add_item(app, cart_id, product.variant_id, 1);
        statuses[static_cast<std::size_t>(i)] = r.status;
        if (r.status == 200) ++ok;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(ok.load() == 20);
    for (int s : statuses) CHECK(s == 200);
    auto cart = get_cart(app, cart_id).json();
    CHECK(cart.at("items").as_array().size() == 1);
    CHECK(quantity_of(cart, product.variant_id) == 20);
  }

  TEST_CASE("cart: open carts untouched for 31 days are abandoned by the cart-abandon job") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 100, 10);
    auto customer = new_customer(app);
    const std::string stale_guest = new_cart(app, {}, {{product.variant_id, 1}});
    const std::string stale_customer = new_cart(app, customer.token, {{product.variant_id, 1}});
    const std::string fresh = new_cart(app, {}, {{product.variant_id, 1}});
    const std::string age = "UPDATE cart.carts SET updated_at = now() - interval '31 days' WHERE id = CAST(:id AS uuid)";
    exec_sql(app, age, stale_guest);
    exec_sql(app, age, stale_customer);
    // 29 days is not enough.
    const std::string recent = new_cart(app, {}, {});
    exec_sql(app, "UPDATE cart.carts SET updated_at = now() - interval '29 days' WHERE id = CAST(:id AS uuid)", recent);

    testing::run_job(app, "cart-abandon");

    CHECK(get_cart(app, stale_guest).json().at("status") == "abandoned");
    CHECK(get_cart(app, stale_customer, customer.token).json().at("status") == "abandoned");
    CHECK(get_cart(app, fresh).json().at("status") == "open");
    CHECK(get_cart(app, recent).json().at("status") == "open");

    // An abandoned cart can no longer change or be checked out, and the customer starts afresh.
    auto add = add_item(app, stale_guest, product.variant_id, 1);
    CHECK(add.status == 409);
    CHECK(problem_code(add) == "cart_not_open");
    auto checkout = testing::place_order(app, testing::checkout_body(stale_guest, "tok_visa", "late@example.com"), {},
                                         "abandoned-" + testing::unique_suffix());
    CHECK(checkout.status == 409);
    CHECK(problem_code(checkout) == "cart_not_checkoutable");
    CHECK(app.http().get("/api/v1/me/cart", customer.token).status == 404);
    auto next = create_cart(app, customer.token);
    REQUIRE(next.status == 201);
    CHECK(next.json().at("id") != json::value(stale_customer));
  }

  TEST_CASE("cart: deleting an account removes that user's carts and nobody else's") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 100, 10);
    auto leaving = new_customer(app);
    auto staying = new_customer(app);
    const std::string leaving_cart = new_cart(app, leaving.token, {{product.variant_id, 1}});
    const std::string staying_cart = new_cart(app, staying.token, {{product.variant_id, 1}});
    const std::string guest_cart = new_cart(app, {}, {{product.variant_id, 1}});

    auto deleted = app.http().send(HttpRequest{"DELETE", "/api/v1/me",
                                               json::serialize(json::object{{"password", testing::shopper_password()}}),
                                               {{"Content-Type", "application/json"}}, leaving.token});
    REQUIRE_MESSAGE(deleted.status == 204, deleted.body);
    testing::deliver_events_of(app, leaving.id);  // accounts.user_deleted

    CHECK(count_rows(app, "SELECT count(*) FROM cart.carts WHERE user_id = CAST(:u AS uuid)", leaving.id) == 0);
    CHECK(count_rows(app, "SELECT count(*) FROM cart.items WHERE cart_id = CAST(:c AS uuid)", leaving_cart) == 0);
    CHECK(get_cart(app, staying_cart, staying.token).status == 200);
    CHECK(get_cart(app, guest_cart).status == 200);
  }
}
