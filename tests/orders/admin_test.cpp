// Admin order management and what orders tell the rest of the system, against the real PostgreSQL:
// list filters and pagination, order detail, stats (net of refunds), the events in the outbox, and
// personal data (account deletion, export).
#include "orders/orders_support.hpp"

#include <map>
#include <set>

using namespace bazaar;
using namespace bazaar::orders_test;
using testing::checkout_body;
using testing::new_admin;
using testing::new_cart;
using testing::new_customer;
using testing::new_product;
using testing::place_order;

namespace {

std::vector<std::string> ids_of(const HttpResponse& r) {
  std::vector<std::string> ids;
  const auto doc = r.json();
  for (const auto& item : doc.at("items").as_array()) ids.push_back(str(item.at("id")));
  return ids;
}

std::string db_now(TestApp& app, const std::string& offset = "0 seconds") {
  return scalar<std::string>(app,
                             "SELECT to_char((now() + CAST(:p AS interval)) AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                             offset);
}

}  // namespace

TEST_SUITE("db.orders") {
  TEST_CASE("orders: the admin list filters by status, email, number and date range, and pages through results") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 100, 50);
    const std::string from = db_now(app, "-1 second");
    std::vector<std::string> ids;  // oldest first
    for (int i = 0; i < 4; ++i) ids.push_back(order_of(app, customer, product, 1).id);
    ids.push_back(order_of(app, customer, product, 1, "tok_async").id);
    REQUIRE(ship(app, admin, ids[0]).status == 200);
    const std::string to = db_now(app, "1 second");

    auto list = [&](const std::string& query) {
      auto r = app.http().get("/admin/v1/orders?" + query, admin.token);
      REQUIRE_MESSAGE(r.status == 200, query, " → ", r.body);
      return r;
    };
    const std::string by_email = "q=" + customer.email;
    auto all = list(by_email);
    CHECK(ids_of(all) == std::vector<std::string>(ids.rbegin(), ids.rend()));  // newest first
    CHECK(all.json().at("next_cursor").is_null());
    CHECK(all.json().at("items").at(0).at("items").as_array().size() == 1);
    CHECK_FALSE(all.json().at("items").at(0).as_object().contains("guest_token"));
    // The email search is a case-insensitive substring.
    std::string upper = customer.email.substr(0, customer.email.find('@'));
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(ids_of(list("q=" + upper)).size() == ids.size());

    CHECK(ids_of(list(by_email + "&status=paid")) == std::vector<std::string>{ids[3], ids[2], ids[1]});
    CHECK(ids_of(list(by_email + "&status=shipped")) == std::vector<std::string>{ids[0]});
    CHECK(ids_of(list(by_email + "&status=pending_payment")) == std::vector<std::string>{ids[4]});
    CHECK(ids_of(list(by_email + "&status=refunded")).empty());

    const std::string number = str(admin_order(app, admin, ids[2]).at("number"));
    CHECK(ids_of(list("q=" + number)) == std::vector<std::string>{ids[2]});
    CHECK(ids_of(list("q=" + number.substr(4))) == std::vector<std::string>{ids[2]});  // digits alone

    CHECK(ids_of(list(by_email + "&from=" + from + "&to=" + to)).size() == ids.size());
    CHECK(ids_of(list(by_email + "&from=" + to)).empty());
    CHECK(ids_of(list(by_email + "&to=" + from)).empty());
    CHECK(ids_of(list(by_email + "&from=2000-01-01&to=2999-01-01")).size() == ids.size());

    // Pages of 2: every order exactly once, in order.
    std::vector<std::string> paged;
    std::string cursor;
    int pages = 0;
    do {
      auto page = list(by_email + "&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
      const auto doc = page.json();
      CHECK(doc.at("items").as_array().size() <= 2);
      for (const auto& id : ids_of(page)) paged.push_back(id);
      cursor = doc.at("next_cursor").is_null() ? "" : str(doc.at("next_cursor"));
      ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(paged == std::vector<std::string>(ids.rbegin(), ids.rend()));

    for (const std::string bad : {"status=lost", "from=yesterday", "to=12", "limit=0", "limit=101", "cursor=garbage"}) {
      auto r = app.http().get("/admin/v1/orders?" + bad, admin.token);
      CHECK_MESSAGE((r.status == 422 || r.status == 400), bad, " → ", r.status, " ", r.body);
    }
    auto impossible_date = app.http().get("/admin/v1/orders?from=2026-13-45", admin.token);
    CHECK_MESSAGE(impossible_date.status == 422, impossible_date.body);
  }

  TEST_CASE("orders: admin stats count paid orders, revenue net of refunds, top products and a per-day series") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto big = new_product(app, admin, 3000, 50, "Stats big " + testing::unique_suffix());
    auto small = new_product(app, admin, 500, 50, "Stats small " + testing::unique_suffix());
    const std::string from = db_now(app);

    auto first = order_of(app, customer, big, 2);     // 6000 + 495
    auto second = order_of(app, customer, small, 5);  // 2500 + 495
    REQUIRE(refund(app, admin, second.id, 1000).status == 200);
    // Neither a declined attempt nor an unpaid order counts.
    const auto declined_cart = new_cart(app, customer.token, {{big.variant_id, 1}});
    REQUIRE(place_order(app, checkout_body(declined_cart, "tok_declined"), customer.token, key("declined")).status == 402);
    order_of(app, customer, big, 1, "tok_async");
    const std::string to = db_now(app, "1 second");

    const std::int64_t expected_revenue = first.total + second.total - 1000;
    auto stats = app.http().get("/admin/v1/stats?from=" + from + "&to=" + to, admin.token);
    REQUIRE_MESSAGE(stats.status == 200, stats.body);
    const auto doc = stats.json();
    // What the database holds for that window (nothing else writes orders while this test runs, but compare
    // with a query of our own rather than assume).
    long long sql_orders = 0, sql_revenue = 0;
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT count(*), coalesce(sum(total - refunded_total), 0) FROM orders.orders "
           "WHERE paid_at >= CAST(:f AS timestamptz) AND paid_at < CAST(:t AS timestamptz)",
          soci::use(from, "f"), soci::use(to, "t"), soci::into(sql_orders), soci::into(sql_revenue);
    });
    CHECK(sql_orders >= 2);
    CHECK(sql_revenue >= expected_revenue);
    CHECK(doc.at("orders") == sql_orders);
    CHECK(doc.at("revenue") == json::value{{"amount", sql_revenue}, {"currency", "EUR"}});
    CHECK(doc.at("average_order").at("amount") == sql_revenue / sql_orders);
    // Money is integral everywhere, never a JSON fraction.
    CHECK(doc.at("revenue").at("amount").is_int64());
    CHECK(doc.at("average_order").at("amount").is_int64());
    for (const auto& p : doc.at("top_products").as_array()) CHECK(p.at("revenue").at("amount").is_int64());
    for (const auto& d : doc.at("by_day").as_array()) CHECK(d.at("revenue").at("amount").is_int64());
    if (sql_orders == 2) {
      CHECK(doc.at("revenue").at("amount") == expected_revenue);
      CHECK(doc.at("average_order").at("amount") == expected_revenue / 2);
    }

    std::map<std::string, std::int64_t> quantities;
    for (const auto& p : doc.at("top_products").as_array()) quantities[str(p.at("product_id"))] = num(p.at("quantity"));
    CHECK(quantities[small.product_id] == 5);
    CHECK(quantities[big.product_id] == 2);  // only the paid order's units
    const auto& top = doc.at("top_products").at(0);
    CHECK(top.as_object().contains("title"));
    CHECK(top.at("revenue").at("currency") == "EUR");

    std::int64_t day_orders = 0, day_revenue = 0;
    for (const auto& day : doc.at("by_day").as_array()) {
      CHECK(str(day.at("date")).size() == 10);
      day_orders += num(day.at("orders"));
      day_revenue += num(day.at("revenue").at("amount"));
    }
    CHECK(day_orders == sql_orders);
    CHECK(day_revenue == sql_revenue);

    // An empty window.
    auto empty = app.http().get("/admin/v1/stats?from=2001-01-01&to=2001-01-02", admin.token);
    REQUIRE(empty.status == 200);
    CHECK(empty.json().at("orders") == 0);
    CHECK(empty.json().at("revenue").at("amount") == 0);
    CHECK(empty.json().at("average_order").at("amount") == 0);
    CHECK(empty.json().at("top_products").as_array().empty());
    CHECK(empty.json().at("by_day").as_array().empty());
    CHECK(app.http().get("/admin/v1/stats?from=yesterday", admin.token).status == 422);
    CHECK(app.http().get("/admin/v1/stats?from=2026-13-45", admin.token).status == 422);
  }

  TEST_CASE("orders: order events carry email, number, lines, totals and tracking for notifications") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto product = new_product(app, admin, 1250, 10);
    auto order = order_of(app, customer, product, 2);
    REQUIRE(admin_post(app, admin, order.id, "ship", json::object{{"carrier", "DPD"}, {"tracking_number", "DPD-42"}}).status ==
            200);
    REQUIRE(admin_post(app, admin, order.id, "deliver").status == 200);
    REQUIRE(refund(app, admin, order.id, std::nullopt).status == 200);
    CHECK(event_types(app, order.id) == std::vector<std::string>{"orders.order_placed", "orders.order_paid",
                                                                  "orders.order_shipped", "orders.order_delivered",
                                                                  "orders.order_refunded"});
    const std::string number = str(order.order.at("number"));
    for (const std::string type : {"orders.order_placed", "orders.order_paid", "orders.order_shipped",
                                   "orders.order_delivered", "orders.order_refunded"}) {
      CAPTURE(type);
      const auto payload = event_payload(app, order.id, type);
      const auto& summary = payload.at("order");
      CHECK(summary.at("order_id") == json::value(order.id));
      CHECK(summary.at("number") == json::value(number));
      CHECK(summary.at("email") == json::value(customer.email));
      CHECK(summary.at("user_id") == json::value(customer.id));
      CHECK(summary.at("currency") == "EUR");
      CHECK(summary.at("subtotal") == 2500);
      CHECK(summary.at("shipping_total") == 495);
      CHECK(summary.at("total") == 2995);
      REQUIRE(summary.at("lines").as_array().size() == 1);
      const auto& line = summary.at("lines").at(0);
      CHECK(line.at("sku") == json::value(product.sku));
      CHECK(line.at("quantity") == 2);
      CHECK(line.at("unit_price") == 1250);
      CHECK(line.at("line_total") == 2500);
      CHECK(summary.at("shipping_address").at("city") == "Berlin");
    }
    const auto shipped = event_payload(app, order.id, "orders.order_shipped");
    CHECK(shipped.at("carrier") == "DPD");
    CHECK(shipped.at("tracking_number") == "DPD-42");
    CHECK(shipped.at("order").at("status") == "shipped");
    const auto refunded = event_payload(app, order.id, "orders.order_refunded");
    CHECK(refunded.at("amount") == 2995);
    CHECK(refunded.at("full") == true);
    CHECK(refunded.at("reason") == "test refund");

    // A guest order's events carry the guest's email and no user id.
    auto guest = guest_order_of(app, product, 1);
    const auto placed = event_payload(app, guest.id, "orders.order_placed");
    CHECK(placed.at("order").at("email") == guest.order.at("email"));
    CHECK(placed.at("order").at("user_id") == "");
  }

  TEST_CASE("orders: deleting an account anonymises that user's orders but keeps them") {
    TestApp app;
    auto admin = new_admin(app);
    auto leaving = new_customer(app);
    auto staying = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto kept = order_of(app, leaving, product, 1);
    auto other = order_of(app, staying, product, 1);

    auto deleted = app.http().send(HttpRequest{"DELETE", "/api/v1/me",
                                               json::serialize(json::object{{"password", testing::shopper_password()}}),
                                               {{"Content-Type", "application/json"}}, leaving.token});
    REQUIRE_MESSAGE(deleted.status == 204, deleted.body);
    testing::deliver_events_of(app, leaving.id);  // accounts.user_deleted

    auto doc = admin_order(app, admin, kept.id);
    CHECK(doc.at("status") == "paid");
    CHECK(doc.at("total") == kept.order.at("total"));
    CHECK(doc.at("items") == kept.order.at("items"));
    CHECK(doc.at("email") != json::value(leaving.email));
    CHECK(str(doc.at("email")).find(leaving.email) == std::string::npos);
    CHECK_FALSE(doc.at("shipping_address").as_object().contains("line1"));
    CHECK_FALSE(doc.at("shipping_address").as_object().contains("last_name"));
    CHECK(scalar<long long>(app, "SELECT count(*) FROM orders.orders WHERE user_id = CAST(:p AS uuid)", leaving.id) == 0);
    CHECK(app.http().get("/admin/v1/orders?q=" + leaving.email, admin.token).json().at("items").as_array().empty());
    // Other customers' orders are untouched.
    auto untouched = admin_order(app, admin, other.id);
    CHECK(untouched.at("email") == json::value(staying.email));
    CHECK(untouched.at("shipping_address").at("line1") == other.order.at("shipping_address").at("line1"));
  }

  TEST_CASE("orders: a customer's data export contains their orders and nobody else's") {
    TestApp app;
    auto admin = new_admin(app);
    auto customer = new_customer(app);
    auto other = new_customer(app);
    auto product = new_product(app, admin, 1000, 10);
    auto first = order_of(app, customer, product, 1);
    auto second = order_of(app, customer, product, 2);
    auto foreign = order_of(app, other, product, 1);

    auto exported = app.http().get("/api/v1/me/export", customer.token);
    REQUIRE_MESSAGE(exported.status == 200, exported.body);
    const auto doc = exported.json();
    REQUIRE(doc.as_object().contains("orders"));
    std::set<std::string> ids;
    for (const auto& o : doc.at("orders").as_array()) {
      ids.insert(str(o.at("id")));
      CHECK(str(o.at("number")).rfind("BZR-", 0) == 0);
      CHECK(o.at("email") == json::value(customer.email));
      CHECK(o.as_object().contains("items"));
      CHECK(o.as_object().contains("shipping_address"));
    }
    CHECK(ids == std::set<std::string>{first.id, second.id});
    CHECK_FALSE(ids.contains(foreign.id));
    for (const auto& o : doc.at("orders").as_array()) {
      if (o.at("id") == json::value(first.id)) CHECK(o.at("number") == first.order.at("number"));
    }
  }
}
