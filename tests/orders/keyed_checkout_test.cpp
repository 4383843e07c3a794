// A checkout with an Idempotency-Key stores its response with its last write (the saga's bookkeeping),
// not after the handler: what is replayed is exactly what was sent, a reused key with another body is
// still 422, and the failures keep behaving as API.md says — a declined payment (402) and missing stock
// (409) are stored under their key and replayed, a failure of the last write itself releases the key. On
// the I/O threads' connections and on the worker pool alike.
#include "orders/orders_support.hpp"

#include <doctest/doctest.h>

#include <cctype>

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::checkout_body;
using testing::new_admin;
using testing::new_cart;
using testing::new_product;
using testing::place_order;
using testing::stock_level;

namespace {

// What platform.idempotency_keys holds for a key: "<status> <response status>", "" when nothing.
std::string key_state(TestApp& app, const std::string& k) {
  std::string out;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT status || ' ' || coalesce(response_status::text, '-') FROM platform.idempotency_keys WHERE key = :k",
        soci::into(out), soci::use(k);
    if (!s.got_data()) out.clear();
  });
  return out;
}

void check_replayed(const HttpResponse& replay, const HttpResponse& first) {
  CHECK(replay.status == first.status);
  CHECK(replay.body == first.body);
  CHECK(replay.header("Idempotent-Replayed") == "true");
  CHECK(replay.header("Content-Type") == first.header("Content-Type"));
}

// Makes the saga's closing record of orders for `cart_id` fail while it lives (a trigger).
class FailingSagaRecord {
 public:
  FailingSagaRecord(TestApp& app, const std::string& cart_id) : app_(app), name_("fail_saga_" + testing::unique_suffix()) {
    for (auto& c : name_) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    exec("SET client_min_messages TO warning");
    exec("CREATE SCHEMA IF NOT EXISTS test_effects");
    exec(R"sql(CREATE OR REPLACE FUNCTION test_effects.fail_saga_record() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'the saga record fails (test)'; END $$)sql");
    exec("CREATE TRIGGER " + name_ + " BEFORE UPDATE OF stock_state ON orders.orders FOR EACH ROW WHEN (NEW.cart_id = '" +
         cart_id + "'::uuid) EXECUTE FUNCTION test_effects.fail_saga_record()");
  }
  ~FailingSagaRecord() { lift(); }
  FailingSagaRecord(const FailingSagaRecord&) = delete;
  FailingSagaRecord& operator=(const FailingSagaRecord&) = delete;
  void lift() {
    if (!lifted_) exec("DROP TRIGGER IF EXISTS " + name_ + " ON orders.orders");
    lifted_ = true;
  }

 private:
  void exec(const std::string& sql) {
    app_.platform().db().run_sync([&](soci::session& s) { s << sql; });
  }
  TestApp& app_;
  std::string name_;
  bool lifted_ = false;
};

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: a keyed checkout's response, stored with its last write, is replayed as sent") {
    auto config = testing::test_config();
    SUBCASE("on the I/O threads' connections") {}
    SUBCASE("on the worker pool") { config.set("database.async_connections", 0); }
    TestApp app(config);
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, {}, {{product.variant_id, 2}});
    const auto body = checkout_body(cart, "tok_visa", guest_email());
    const auto k = key("stored");

    auto first = place_order(app, body, {}, k);
    REQUIRE_MESSAGE(first.status == 201, first.body);
    CHECK_FALSE(first.header("Idempotent-Replayed"));
    CHECK(first.json().as_object().contains("guest_token"));
    CHECK(key_state(app, k) == "done 201");
    check_replayed(place_order(app, body, {}, k), first);

    auto changed = body;
    changed["shipping_option_id"] = "express";
    auto reused = place_order(app, changed, {}, k);
    CHECK(reused.status == 422);
    CHECK(problem_code(reused) == "idempotency_key_reused");

    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(scalar<std::string>(app, "SELECT stock_state || ' ' || cart_completed::text FROM orders.orders WHERE id = CAST(:p AS uuid)",
                              str(first.json().at("id"))) == "confirmed true");
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 8);
    CHECK(level.reserved == 0);
    CHECK(cart_status(app, cart) == "completed");
  }

  TEST_CASE("orders: a declined keyed checkout keeps its 402 under the key; another key pays with the same cart") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, {}, {{product.variant_id, 1}});
    const auto email = guest_email();
    const auto declined_key = key("declined");

    auto declined = place_order(app, checkout_body(cart, "tok_declined", email), {}, declined_key);
    REQUIRE(declined.status == 402);
    CHECK(problem_code(declined) == "payment_declined");
    CHECK(key_state(app, declined_key) == "done 402");
    check_replayed(place_order(app, checkout_body(cart, "tok_declined", email), {}, declined_key), declined);
    CHECK(cart_status(app, cart) == "open");
    CHECK(stock_level(app, product.variant_id).reserved == 0);

    auto paid = place_order(app, checkout_body(cart, "tok_visa", email), {}, key("second-card"));
    REQUIRE_MESSAGE(paid.status == 201, paid.body);
    CHECK(cart_status(app, cart) == "completed");
    // The declined key still answers what it answered.
    check_replayed(place_order(app, checkout_body(cart, "tok_declined", email), {}, declined_key), declined);
  }

  TEST_CASE("orders: a keyed checkout refused for missing stock keeps its 409 under the key") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 5);
    const auto cart = new_cart(app, {}, {{product.variant_id, 3}});
    REQUIRE(testing::set_stock(app, admin, product.variant_id, 2).status == 200);
    const auto body = checkout_body(cart, "tok_visa", guest_email());
    const auto k = key("short");

    auto refused = place_order(app, body, {}, k);
    REQUIRE(refused.status == 409);
    CHECK(problem_code(refused) == "insufficient_stock");
    CHECK(key_state(app, k) == "done 409");
    REQUIRE(testing::set_stock(app, admin, product.variant_id, 5).status == 200);
    check_replayed(place_order(app, body, {}, k), refused);  // the stored answer, not a new attempt
    CHECK(cart_status(app, cart) == "open");
    CHECK(place_order(app, body, {}, key("restocked")).status == 201);
  }

  TEST_CASE("orders: when a keyed checkout's last write fails, the key is released and a retry finishes the order") {
    TestApp app;
    auto admin = new_admin(app);
    auto product = new_product(app, admin, 1000, 10);
    const auto cart = new_cart(app, {}, {{product.variant_id, 3}});
    const auto body = checkout_body(cart, "tok_visa", guest_email());
    const auto k = key("last-write");

    FailingSagaRecord failing(app, cart);
    auto failed = place_order(app, body, {}, k);
    CHECK(failed.status == 500);
    CHECK(key_state(app, k).empty());  // the response stored with the failed write went with it

    failing.lift();
    auto retried = place_order(app, body, {}, k);
    REQUIRE_MESSAGE(retried.status == 201, retried.body);
    CHECK_FALSE(retried.header("Idempotent-Replayed"));
    CHECK(str(retried.json().at("status")) == "paid");
    CHECK(key_state(app, k) == "done 201");
    check_replayed(place_order(app, body, {}, k), retried);

    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE cart_id = CAST(:p AS uuid)", cart) == 1);
    CHECK(scalar<std::string>(app, "SELECT stock_state || ' ' || cart_completed::text FROM orders.orders WHERE id = CAST(:p AS uuid)",
                              str(retried.json().at("id"))) == "confirmed true");
    const auto level = stock_level(app, product.variant_id);
    CHECK(level.on_hand == 7);
    CHECK(level.reserved == 0);
  }
}
