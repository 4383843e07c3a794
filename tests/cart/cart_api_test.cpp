// The cart API over HTTP against the real PostgreSQL: every route and its errors, guest vs owner access,
// quantity and line limits, stock checks, and carts that can no longer change.
#include "cart/cart_support.hpp"

#include <platform/ids.hpp>

#include <functional>

using namespace bazaar;
using namespace bazaar::cart_test;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;
using testing::new_variant;

TEST_SUITE("db.cart") {
  TEST_CASE("cart: a guest cart is created empty and anyone holding its id can read it") {
    TestApp app;
    auto created = create_cart(app);
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const auto doc = created.json();
    const std::string id = str(doc.at("id"));
    CHECK(platform::is_uuid(id));
    CHECK(created.header("Location") == "/api/v1/carts/" + id);
    CHECK(created.header("Content-Type").value_or("").rfind("application/json", 0) == 0);
    CHECK(doc.at("status") == "open");
    CHECK(doc.at("items").as_array().empty());
    CHECK(doc.at("warnings").as_array().empty());
    CHECK(doc.at("item_count") == 0);
    CHECK(doc.at("subtotal") == json::value{{"amount", 0}, {"currency", "EUR"}});
    CHECK(doc.at("updated_at").as_string().ends_with("Z"));

    // An empty body is as good as {}.
    auto bare = app.http().send(HttpRequest{"POST", "/api/v1/carts", "", {}, ""});
    CHECK(bare.status == 201);

    auto anonymous = get_cart(app, id);
    REQUIRE(anonymous.status == 200);
    CHECK(anonymous.json().at("id") == json::value(id));
    auto customer = new_customer(app);
    CHECK(get_cart(app, id, customer.token).status == 200);  // the id is the capability, whoever holds it

    auto unknown = get_cart(app, platform::new_uuid_v7());
    CHECK(unknown.status == 404);
    CHECK(problem_code(unknown) == "not_found");
    CHECK(get_cart(app, "not-a-uuid").status == 404);
  }

  TEST_CASE("cart: malformed bodies are 400/415/422, never a 500") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    const std::string cart_id = new_cart(app, {}, {});

    auto broken = app.http().send(
        HttpRequest{"POST", "/api/v1/carts", "{", {{"Content-Type", "application/json"}}, ""});
    CHECK(broken.status == 400);
    CHECK(problem_code(broken) == "bad_request");
    auto not_json = app.http().send(HttpRequest{"POST", "/api/v1/carts/" + cart_id + "/items", "variant_id=x",
                                                {{"Content-Type", "application/x-www-form-urlencoded"}}, ""});
    CHECK(not_json.status == 415);
    auto items = [&](const json::object& body) {
      return app.http().post_json("/api/v1/carts/" + cart_id + "/items", body);
    };
    for (const auto& body : {json::object{{"quantity", 1}},
                             json::object{{"variant_id", product.variant_id}},
                             json::object{{"variant_id", "not-a-uuid"}, {"quantity", 1}},
                             json::object{{"variant_id", product.variant_id}, {"quantity", "1"}},
                             json::object{{"variant_id", product.variant_id}, {"quantity", 1.5}},
                             json::object{{"variant_id", 42}, {"quantity", 1}}}) {
      auto r = items(body);
      CHECK_MESSAGE(r.status == 422, json::serialize(body), " → ", r.body);
      if (r.status == 422) CHECK(problem_code(r) == "validation_failed");
    }
    auto item_array = app.http().send(HttpRequest{"POST", "/api/v1/carts/" + cart_id + "/items", "[1,2]",
                                                  {{"Content-Type", "application/json"}}, ""});
    CHECK((item_array.status == 400 || item_array.status == 422));
    CHECK(get_cart(app, cart_id).json().at("items").as_array().empty());
  }

  TEST_CASE("cart: a customer's cart is visible to its owner only, everyone else gets 404 on every route") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1500, 10);
    auto owner = new_customer(app);
    auto other = new_customer(app);

    auto created = create_cart(app, owner.token);
    REQUIRE_MESSAGE(created.status == 201, created.body);
    const std::string cart_id = str(created.json().at("id"));
    // A customer has one open cart: asking again returns it.
    auto again = create_cart(app, owner.token);
    REQUIRE((again.status == 200 || again.status == 201));
    CHECK(again.json().at("id") == json::value(cart_id));

    auto added = add_item(app, cart_id, product.variant_id, 2, owner.token);
    REQUIRE_MESSAGE(added.status == 200, added.body);
    const std::string item_id = str(added.json().at("items").at(0).at("id"));

    auto mine = app.http().get("/api/v1/me/cart", owner.token);
    REQUIRE(mine.status == 200);
    CHECK(mine.json().at("id") == json::value(cart_id));
    CHECK(quantity_of(mine.json(), product.variant_id) == 2);

    for (const std::string& token : {other.token, std::string()}) {
      CAPTURE(token.empty());
      CHECK(get_cart(app, cart_id, token).status == 404);
      CHECK(add_item(app, cart_id, product.variant_id, 1, token).status == 404);
      CHECK(set_quantity(app, cart_id, item_id, 5, token).status == 404);
      CHECK(remove_item(app, cart_id, item_id, token).status == 404);
    }
    CHECK(claim(app, cart_id, other.token).status == 404);
    // The other customer has no cart of their own.
    auto none = app.http().get("/api/v1/me/cart", other.token);
    CHECK(none.status == 404);
    auto anonymous = app.http().get("/api/v1/me/cart");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.header("WWW-Authenticate").value_or("").rfind("Bearer", 0) == 0);

    // Nothing the others tried changed the cart.
    auto after = get_cart(app, cart_id, owner.token);
    CHECK(quantity_of(after.json(), product.variant_id) == 2);
  }

  TEST_CASE("cart: adding a variant again adds to its line, and lines are priced from the catalog") {
    TestApp app;
    auto admin = new_admin(app);
    auto shirt = new_product(app, admin, 1999, 20, "Shirt " + testing::unique_suffix());
    auto socks = new_product(app, admin, 450, 20);
    const std::string cart_id = new_cart(app, {}, {});

    auto first = add_item(app, cart_id, shirt.variant_id, 2);
    REQUIRE_MESSAGE(first.status == 200, first.body);
    auto second = add_item(app, cart_id, shirt.variant_id, 3);
    REQUIRE_MESSAGE(second.status == 200, second.body);
    auto doc = second.json();
    REQUIRE(doc.at("items").as_array().size() == 1);
    const auto& line = doc.at("items").at(0);
    CHECK(line.at("id") == first.json().at("items").at(0).at("id"));
    CHECK(line.at("variant_id") == json::value(shirt.variant_id));
    CHECK(line.at("product_id") == json::value(shirt.product_id));
    CHECK(line.at("sku") == json::value(shirt.sku));
    CHECK(str(line.at("title")).find("Shirt") != std::string::npos);
    CHECK(line.at("quantity") == 5);
    CHECK(line.at("unit_price") == json::value{{"amount", 1999}, {"currency", "EUR"}});
    CHECK(line.at("line_total") == json::value{{"amount", 9995}, {"currency", "EUR"}});

    auto both = add_item(app, cart_id, socks.variant_id, 4);
    REQUIRE(both.status == 200);
    doc = both.json();
    CHECK(doc.at("items").as_array().size() == 2);
    CHECK(doc.at("item_count") == 9);
    CHECK(doc.at("subtotal").at("amount") == 9995 + 1800);
    CHECK(doc.at("warnings").as_array().empty());
    // The stored cart says the same.
    auto read = get_cart(app, cart_id).json();
    CHECK(read.at("subtotal") == doc.at("subtotal"));
    CHECK(read.at("items") == doc.at("items"));
  }

  TEST_CASE("cart: quantities are 1..999 per line, PATCH sets them and 0 removes the line") {
    TestApp app;
    auto admin = new_admin(app);
    auto bulk = new_product(app, admin, 10, 5000);
    const std::string cart_id = new_cart(app, {}, {});

    for (int bad : {0, -1, 1000}) {
      auto r = add_item(app, cart_id, bulk.variant_id, bad);
      CHECK_MESSAGE(r.status == 422, bad);
      CHECK(problem_code(r) == "validation_failed");
    }
    auto full = add_item(app, cart_id, bulk.variant_id, 999);
    REQUIRE_MESSAGE(full.status == 200, full.body);
    const std::string item_id = str(full.json().at("items").at(0).at("id"));
    // Adding to a line may not take it past 999 either.
    auto over = add_item(app, cart_id, bulk.variant_id, 1);
    CHECK(over.status == 422);
    CHECK(problem_code(over) == "validation_failed");
    CHECK(quantity_of(get_cart(app, cart_id).json(), bulk.variant_id) == 999);

    for (int bad : {-1, 1000}) CHECK(set_quantity(app, cart_id, item_id, bad).status == 422);
    auto patched = set_quantity(app, cart_id, item_id, 7);
    REQUIRE_MESSAGE(patched.status == 200, patched.body);
    CHECK(quantity_of(patched.json(), bulk.variant_id) == 7);
    CHECK(patched.json().at("subtotal").at("amount") == 70);
    CHECK(quantity_of(get_cart(app, cart_id).json(), bulk.variant_id) == 7);

    auto removed = set_quantity(app, cart_id, item_id, 0);
    REQUIRE_MESSAGE(removed.status == 200, removed.body);
    CHECK(removed.json().at("items").as_array().empty());
    CHECK(removed.json().at("subtotal").at("amount") == 0);
    CHECK(get_cart(app, cart_id).json().at("items").as_array().empty());

    // The line is gone: PATCH and DELETE of it are 404, and so are unknown item ids.
    auto gone = set_quantity(app, cart_id, item_id, 3);
    CHECK(gone.status == 404);
    CHECK(problem_code(gone) == "not_found");
    CHECK(remove_item(app, cart_id, item_id).status == 404);
    CHECK(remove_item(app, cart_id, platform::new_uuid_v7()).status == 404);
    CHECK(set_quantity(app, cart_id, platform::new_uuid_v7(), 0).status == 404);
    // ... and unknown carts too.
    CHECK(add_item(app, platform::new_uuid_v7(), bulk.variant_id, 1).status == 404);
    CHECK(set_quantity(app, platform::new_uuid_v7(), item_id, 1).status == 404);
    CHECK(remove_item(app, platform::new_uuid_v7(), item_id).status == 404);
  }

  TEST_CASE("cart: DELETE removes one line and keeps the others") {
    TestApp app;
    auto admin = new_admin(app);
    auto a = new_product(app, admin, 100, 10);
    auto b = new_product(app, admin, 200, 10);
    const std::string cart_id = new_cart(app, {}, {{a.variant_id, 1}, {b.variant_id, 2}});
    auto cart = get_cart(app, cart_id).json();
    const std::string a_item = str(line_of(cart, a.variant_id)->at("id"));

    auto removed = remove_item(app, cart_id, a_item);
    REQUIRE_MESSAGE(removed.status == 200, removed.body);
    CHECK(line_of(removed.json(), a.variant_id) == nullptr);
    CHECK(quantity_of(removed.json(), b.variant_id) == 2);
    CHECK(removed.json().at("subtotal").at("amount") == 400);
    CHECK(removed.json().at("item_count") == 2);
    CHECK(get_cart(app, cart_id).json().at("items").as_array().size() == 1);
  }

  TEST_CASE("cart: more than what is available is 409 insufficient_stock and changes nothing") {
    TestApp app;
    auto admin = new_admin(app);
    auto scarce = new_product(app, admin, 500, 3);
    const std::string cart_id = new_cart(app, {}, {});

    auto too_many = add_item(app, cart_id, scarce.variant_id, 4);
    CHECK(too_many.status == 409);
    CHECK(problem_code(too_many) == "insufficient_stock");
    CHECK(get_cart(app, cart_id).json().at("items").as_array().empty());

    auto ok = add_item(app, cart_id, scarce.variant_id, 3);
    REQUIRE_MESSAGE(ok.status == 200, ok.body);
    const std::string item_id = str(ok.json().at("items").at(0).at("id"));
    auto one_more = add_item(app, cart_id, scarce.variant_id, 1);
    CHECK(one_more.status == 409);
    CHECK(problem_code(one_more) == "insufficient_stock");
    auto patch_up = set_quantity(app, cart_id, item_id, 4);
    CHECK(patch_up.status == 409);
    CHECK(problem_code(patch_up) == "insufficient_stock");
    CHECK(quantity_of(get_cart(app, cart_id).json(), scarce.variant_id) == 3);
    // Lowering is always allowed.
    auto patch_down = set_quantity(app, cart_id, item_id, 2);
    REQUIRE(patch_down.status == 200);
    CHECK(quantity_of(patch_down.json(), scarce.variant_id) == 2);
  }

  TEST_CASE("cart: unknown, draft and archived variants cannot be added (422)") {
    TestApp app;
    auto admin = new_admin(app);
    const std::string cart_id = new_cart(app, {}, {});

    auto unknown = add_item(app, cart_id, platform::new_uuid_v7(), 1);
    CHECK(unknown.status == 422);
    CHECK(problem_code(unknown) == "validation_failed");
    CHECK(unknown.json().at("errors").at(0).at("field") == "variant_id");

    // A draft product's variant.
    auto draft = app.http().post_json("/admin/v1/products",
                                      json::object{{"title", "Draft " + testing::unique_suffix()},
                                                   {"description", "Not for sale yet."},
                                                   {"status", "draft"}},
                                      admin.token);
    REQUIRE_MESSAGE(draft.status == 201, draft.body);
    auto hidden = new_variant(app, admin, str(draft.json().at("id")), 900, 10);
    auto draft_add = add_item(app, cart_id, hidden.variant_id, 1);
    CHECK(draft_add.status == 422);
    CHECK(problem_code(draft_add) == "validation_failed");

    // An archived product's variant.
    auto archived = new_product(app, admin, 900, 10);
    REQUIRE(app.http().del("/admin/v1/products/" + archived.product_id, admin.token).status == 204);
    auto archived_add = add_item(app, cart_id, archived.variant_id, 1);
    CHECK(archived_add.status == 422);
    CHECK(problem_code(archived_add) == "validation_failed");
    CHECK(get_cart(app, cart_id).json().at("items").as_array().empty());
  }

  TEST_CASE("cart: a cart holds at most 100 lines") {
    TestApp app;
    auto admin = new_admin(app);
    auto first = new_product(app, admin, 100, 10);
    std::vector<std::string> variants{first.variant_id};
    while (variants.size() < 101) variants.push_back(new_variant(app, admin, first.product_id, 100, 10).variant_id);
    const std::string cart_id = new_cart(app, {}, {});
    for (std::size_t i = 0; i < 100; ++i) {
      auto r = add_item(app, cart_id, variants[i], 1);
      REQUIRE_MESSAGE(r.status == 200, i, ": ", r.body);
    }
    auto full = add_item(app, cart_id, variants[100], 1);
    CHECK(full.status == 422);
    CHECK(problem_code(full) == "validation_failed");
    // Adding to an existing line of a full cart is still fine.
    auto more = add_item(app, cart_id, variants[0], 1);
    REQUIRE_MESSAGE(more.status == 200, more.body);
    CHECK(more.json().at("items").as_array().size() == 100);
    CHECK(more.json().at("item_count") == 101);
  }

  TEST_CASE("cart: Idempotency-Key on cart creation returns the first cart") {
    TestApp app;
    const std::string key = "cart-create-" + testing::unique_suffix();
    auto first = create_cart(app, {}, {{"Idempotency-Key", key}});
    REQUIRE_MESSAGE(first.status == 201, first.body);
    CHECK_FALSE(first.header("Idempotent-Replayed"));
    auto replay = create_cart(app, {}, {{"Idempotency-Key", key}});
    CHECK(replay.status == 201);
    CHECK(replay.header("Idempotent-Replayed") == "true");
    CHECK(replay.json().at("id") == first.json().at("id"));
    auto other = create_cart(app, {}, {{"Idempotency-Key", key + "-2"}});
    REQUIRE(other.status == 201);
    CHECK(other.json().at("id") != first.json().at("id"));
    auto none = create_cart(app);
    REQUIRE(none.status == 201);
    CHECK(none.json().at("id") != first.json().at("id"));
    // Keys are per caller: a customer's same key makes their own cart.
    auto customer = new_customer(app);
    auto theirs = create_cart(app, customer.token, {{"Idempotency-Key", key}});
    REQUIRE(theirs.status == 201);
    CHECK_FALSE(theirs.header("Idempotent-Replayed"));
    CHECK(theirs.json().at("id") != first.json().at("id"));
  }

  TEST_CASE("cart: a completed cart can no longer change (409 cart_not_open)") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 700, 10);
    const std::string cart_id = new_cart(app, customer.token, {{product.variant_id, 1}});
    auto placed = testing::place_order(app, testing::checkout_body(cart_id, "tok_visa"), customer.token,
                                       "complete-" + testing::unique_suffix());
    REQUIRE_MESSAGE(placed.status == 201, placed.body);
    auto cart = get_cart(app, cart_id, customer.token);
    REQUIRE(cart.status == 200);
    CHECK(cart.json().at("status") == "completed");
    const std::string item_id = str(cart.json().at("items").at(0).at("id"));

    auto add = add_item(app, cart_id, product.variant_id, 1, customer.token);
    CHECK(add.status == 409);
    CHECK(problem_code(add) == "cart_not_open");
    CHECK(set_quantity(app, cart_id, item_id, 2, customer.token).status == 409);
    CHECK(set_quantity(app, cart_id, item_id, 0, customer.token).status == 409);
    CHECK(remove_item(app, cart_id, item_id, customer.token).status == 409);
    // The customer has no open cart now; a new one is a fresh cart.
    CHECK(app.http().get("/api/v1/me/cart", customer.token).status == 404);
    auto fresh = create_cart(app, customer.token);
    REQUIRE(fresh.status == 201);
    CHECK(fresh.json().at("id") != json::value(cart_id));
    CHECK(fresh.json().at("items").as_array().empty());
  }

  TEST_CASE("cart: every write moves updated_at forward, and its response shows the new value") {
    TestApp app;
    auto admin = new_admin(app);
    auto a = new_product(app, admin, 100, 10);
    auto b = new_product(app, admin, 200, 10);
    const std::string cart_id = new_cart(app, {}, {{a.variant_id, 1}, {b.variant_id, 1}});
    const auto items = get_cart(app, cart_id).json().at("items");
    const std::string a_item = str(items.at(0).at("id")), b_item = str(items.at(1).at("id"));
    const std::string an_hour_ago = "UPDATE cart.carts SET updated_at = now() - interval '1 hour' WHERE id = CAST(:id AS uuid)";

    // Each write is made to a cart last changed an hour ago.
    auto check_write = [&](const std::function<HttpResponse()>& write, const char* what) {
      CAPTURE(what);
      exec_sql(app, an_hour_ago, cart_id);
      const auto before = get_cart(app, cart_id).json().at("updated_at");
      auto r = write();
      REQUIRE_MESSAGE(r.status == 200, r.body);
      const auto stored = get_cart(app, cart_id).json().at("updated_at");
      CHECK(stored != before);
      CHECK(str(stored) > str(before));
      CHECK(r.json().at("updated_at") == stored);  // the response is the cart as it now is
    };
    check_write([&] { return add_item(app, cart_id, a.variant_id, 1); }, "add");
    check_write([&] { return set_quantity(app, cart_id, a_item, 5); }, "patch");
    check_write([&] { return remove_item(app, cart_id, b_item); }, "delete");
  }
}
