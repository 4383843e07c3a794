// The admin catalog API against the real PostgreSQL: product, variant, stock and category CRUD, the
// validation errors and conflicts, audit entries and the events each write publishes.
#include "catalog/catalog_support.hpp"

#include <platform/ids.hpp>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

bool is_rfc3339_utc(const json::value& v) {
  if (!v.is_string()) return false;
  const std::string s(v.as_string());
  return s.size() == 24 && s[10] == 'T' && s[23] == 'Z';
}

long long audit_count(TestApp& app, const std::string& target_id, const std::string& action) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) {
    s << "SELECT count(*) FROM platform.audit_log WHERE target_id = :t AND action = :a", soci::use(target_id),
        soci::use(action), soci::into(n);
  });
  return n;
}

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: a new product is a draft with a derived slug, invisible to customers until published") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto tag = testing::unique_suffix();
    auto product = create_product(app, admin, {{"title", "Crème Brûlée Torch " + tag}, {"description", "Caramelises sugar."}});
    const auto id = str(product.at("id"));
    CHECK(platform::is_uuid(id));
    CHECK(product.at("slug") == json::value("creme-brulee-torch-" + tag));
    CHECK(product.at("status") == "draft");
    CHECK(product.at("description") == "Caramelises sugar.");
    CHECK(product.at("category_ids").as_array().empty());
    CHECK(product.at("images").as_array().empty());
    CHECK(product.at("variants").as_array().empty());
    CHECK(product.at("price_range").is_null());
    CHECK(is_rfc3339_utc(product.at("created_at")));
    CHECK(is_rfc3339_utc(product.at("updated_at")));
    CHECK(audit_count(app, id, "catalog.product.create") == 1);

    const std::string slug = str(product.at("slug"));
    CHECK(app.http().get("/api/v1/products/" + id).status == 404);
    CHECK(app.http().get("/api/v1/products/" + slug).status == 404);
    CHECK(app.http().get("/admin/v1/products/" + id, admin).status == 200);

    auto published = publish(app, admin, id);
    CHECK(published.at("status") == "published");
    auto customer = app.http().get("/api/v1/products/" + slug);
    REQUIRE(customer.status == 200);
    CHECK(customer.header("Content-Type") == "application/json");
    CHECK(customer.json().at("id") == json::value(id));
    CHECK(app.http().get("/api/v1/products/" + id).status == 200);
    CHECK(contains(event_types(app, id), "catalog.product_published"));

    // DELETE archives: gone for customers, still there for admins; a second DELETE changes nothing.
    CHECK(app.http().del("/admin/v1/products/" + id, admin).status == 204);
    CHECK(app.http().get("/api/v1/products/" + id).status == 404);
    CHECK(app.http().get("/api/v1/products/" + slug).status == 404);
    auto archived = app.http().get("/admin/v1/products/" + id, admin);
    REQUIRE(archived.status == 200);
    CHECK(archived.json().at("status") == "archived");
    CHECK(app.http().del("/admin/v1/products/" + id, admin).status == 204);
    auto events = event_types(app, id);
    CHECK(std::count(events.begin(), events.end(), "catalog.product_archived") == 1);
    CHECK(audit_count(app, id, "catalog.product.archive") == 1);
    CHECK(app.http().del("/admin/v1/products/" + platform::new_uuid_v7(), admin).status == 404);
  }

  TEST_CASE("catalog: a repeated title gets the next free slug; an explicit slug in use is a 409") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto title = "Brass Lantern " + testing::unique_suffix();
    const auto base = domain_slug(title);
    auto first = create_product(app, admin, {{"title", title}});
    auto second = create_product(app, admin, {{"title", title}});
    auto third = create_product(app, admin, {{"title", title}});
    CHECK(first.at("slug") == json::value(base));
    CHECK(second.at("slug") == json::value(base + "-2"));
    CHECK(third.at("slug") == json::value(base + "-3"));

    auto dup = send_json(app, "POST", "/admin/v1/products", json::object{{"title", "Other"}, {"description", ""}, {"slug", base}}, admin);
    CHECK(dup.status == 409);
    CHECK(code_of(dup) == "slug_taken");
    auto patch = send_json(app, "PATCH", "/admin/v1/products/" + str(third.at("id")), json::object{{"slug", base + "-2"}}, admin);
    CHECK(patch.status == 409);
    CHECK(code_of(patch) == "slug_taken");
    auto renamed = send_json(app, "PATCH", "/admin/v1/products/" + str(third.at("id")), json::object{{"slug", base + "-renamed"}}, admin);
    REQUIRE(renamed.status == 200);
    CHECK(renamed.json().at("slug") == json::value(base + "-renamed"));
  }

  TEST_CASE("catalog: product bodies are validated field by field") {
    TestApp app;
    const auto admin = admin_token(app);
    auto r = send_json(app, "POST", "/admin/v1/products",
                       json::object{{"title", ""}, {"slug", "Not A Slug"}, {"status", "deleted"},
                                    {"category_ids", json::array{"nope"}}, {"description", 5}},
                       admin);
    REQUIRE(r.status == 422);
    CHECK(code_of(r) == "validation_failed");
    for (const char* field : {"title", "slug", "status", "category_ids", "description"}) {
      CAPTURE(field);
      CHECK(has_error_field(r, field));
    }
    auto missing = send_json(app, "POST", "/admin/v1/products", json::object{}, admin);
    CHECK(missing.status == 422);
    CHECK(has_error_field(missing, "title"));
    CHECK(has_error_field(missing, "description"));
    auto uuid_slug = send_json(app, "POST", "/admin/v1/products",
                               json::object{{"title", "x"}, {"description", ""}, {"slug", platform::new_uuid_v7()}}, admin);
    CHECK(uuid_slug.status == 422);
    auto control = send_json(app, "POST", "/admin/v1/products", json::object{{"title", std::string("a\0b", 3)}, {"description", ""}}, admin);
    CHECK(control.status == 422);
    CHECK(has_error_field(control, "title"));
    auto unknown_category = send_json(app, "POST", "/admin/v1/products",
                                      json::object{{"title", "x"}, {"description", ""},
                                                   {"category_ids", json::array{json::value(platform::new_uuid_v7())}}},
                                      admin);
    CHECK(unknown_category.status == 422);
    CHECK(has_error_field(unknown_category, "category_ids"));

    auto not_json = app.http().send(HttpRequest{"POST", "/admin/v1/products", "{\"title\":", {{"Content-Type", "application/json"}}, admin});
    CHECK(not_json.status == 400);
    auto text = app.http().send(HttpRequest{"POST", "/admin/v1/products", "title=x", {{"Content-Type", "text/plain"}}, admin});
    CHECK(text.status == 415);
    CHECK(send_json(app, "PATCH", "/admin/v1/products/" + platform::new_uuid_v7(), json::object{{"title", "x"}}, admin).status == 404);
  }

  TEST_CASE("catalog: admin routes need the admin role") {
    TestApp app;
    const auto customer = accounts_test::new_user(app).token;
    CHECK(app.http().get("/admin/v1/products").status == 401);
    CHECK(app.http().get("/admin/v1/products", customer).status == 403);
    CHECK(send_json(app, "POST", "/admin/v1/products", json::object{{"title", "x"}, {"description", ""}}, customer).status == 403);
    CHECK(send_json(app, "POST", "/admin/v1/categories", json::object{{"name", "x"}}, customer).status == 403);
    CHECK(app.http().get("/admin/v1/inventory/low-stock", customer).status == 403);
  }

  TEST_CASE("catalog: variants carry unique SKUs in the store currency and keep the price range current") {
    TestApp app;
    const auto admin = admin_token(app);
    auto product = create_product(app, admin, {{"title", "Merino Scarf " + testing::unique_suffix()}});
    const auto id = str(product.at("id"));
    const auto sku = "SCARF-" + testing::unique_suffix();
    auto v1 = add_variant(app, admin, id, sku + "-NAVY", 4999, 7, {{"colour", "navy"}});
    CHECK(v1.at("sku") == json::value(sku + "-NAVY"));
    CHECK(v1.at("price") == json::parse(R"({"amount":4999,"currency":"EUR"})"));
    CHECK(v1.at("available") == 7);
    CHECK(v1.at("on_hand") == 7);
    CHECK(v1.at("reserved") == 0);
    CHECK(v1.at("product_id") == json::value(id));
    CHECK(v1.at("options") == json::parse(R"({"colour":"navy"})"));
    auto v2 = add_variant(app, admin, id, sku + "-RUST", 5999, 0);
    CHECK(v2.at("options").as_object().empty());

    auto full = app.http().get("/admin/v1/products/" + id, admin).json();
    CHECK(full.at("price_range") == json::parse(R"({"min":{"amount":4999,"currency":"EUR"},"max":{"amount":5999,"currency":"EUR"}})"));
    CHECK(full.at("variants").as_array().size() == 2);
    CHECK(full.at("variants").as_array()[0].at("id") == v1.at("id"));  // creation order

    const auto variants = "/admin/v1/products/" + id + "/variants";
    auto dup = send_json(app, "POST", variants, json::object{{"sku", sku + "-NAVY"}, {"title", "x"}, {"price", money(1)}}, admin);
    CHECK(dup.status == 409);
    CHECK(code_of(dup) == "sku_taken");
    auto dollars = send_json(app, "POST", variants, json::object{{"sku", sku + "-X"}, {"title", "x"}, {"price", money(100, "USD")}}, admin);
    CHECK(dollars.status == 422);
    CHECK(has_error_field(dollars, "price.currency"));
    auto bad = send_json(app, "POST", variants,
                         json::object{{"sku", "has space"}, {"title", ""}, {"price", money(-5)}, {"on_hand", -1},
                                      {"options", json::object{{"size", 42}}}},
                         admin);
    REQUIRE(bad.status == 422);
    for (const char* field : {"sku", "title", "price.amount", "on_hand", "options"}) {
      CAPTURE(field);
      CHECK(has_error_field(bad, field));
    }
    CHECK(send_json(app, "POST", "/admin/v1/products/" + platform::new_uuid_v7() + "/variants",
                    json::object{{"sku", sku + "-Y"}, {"title", "x"}, {"price", money(1)}}, admin)
              .status == 404);

    // PATCH: a price change moves the range; the customer view shows it (no stock counts there).
    const auto v1_url = variants + "/" + str(v1.at("id"));
    auto patched = send_json(app, "PATCH", v1_url, json::object{{"price", money(3999)}, {"title", "Navy"}}, admin);
    REQUIRE(patched.status == 200);
    CHECK(patched.json().at("title") == "Navy");
    publish(app, admin, id);
    auto customer = app.http().get("/api/v1/products/" + id).json();
    CHECK(customer.at("price_range").at("min").at("amount") == 3999);
    for (const auto& v : customer.at("variants").as_array()) {
      CHECK_FALSE(v.as_object().contains("on_hand"));
      CHECK_FALSE(v.as_object().contains("reserved"));
      CHECK(v.as_object().contains("available"));
    }
    auto conflict = send_json(app, "PATCH", v1_url, json::object{{"sku", sku + "-RUST"}}, admin);
    CHECK(conflict.status == 409);
    CHECK(send_json(app, "PATCH", variants + "/" + platform::new_uuid_v7(), json::object{{"title", "x"}}, admin).status == 404);

    // DELETE: the range follows; without variants it is null again.
    CHECK(app.http().del(variants + "/" + str(v2.at("id")), admin).status == 204);
    CHECK(app.http().get("/admin/v1/products/" + id, admin).json().at("price_range").at("max").at("amount") == 3999);
    CHECK(app.http().del(v1_url, admin).status == 204);
    CHECK(app.http().get("/admin/v1/products/" + id, admin).json().at("price_range").is_null());
    CHECK(app.http().del(v1_url, admin).status == 404);
    CHECK(contains(event_types(app, id), "catalog.product_updated"));
    CHECK(audit_count(app, str(v1.at("id")), "catalog.variant.delete") == 1);
  }

  TEST_CASE("catalog: stock is set by PUT, never below what orders reserved, and low stock is listed and announced") {
    TestApp app;
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Stock Lamp " + testing::unique_suffix(), {2500}, 20);
    const auto variant_id = str(product.at("variants").as_array()[0].at("id"));
    const auto stock_url = "/admin/v1/variants/" + variant_id + "/stock";

    const auto order = platform::new_uuid_v7();
    auto outcome = testing::run_awaitable(catalog_module(app).inventory().reserve(order, {{variant_id, 6}}, std::chrono::seconds(600)));
    REQUIRE(outcome.reserved);

    auto below = send_json(app, "PUT", stock_url, json::object{{"on_hand", 5}}, admin);
    CHECK(below.status == 409);
    CHECK(code_of(below) == "stock_below_reserved");
    auto set = send_json(app, "PUT", stock_url, json::object{{"on_hand", 9}}, admin);
    REQUIRE(set.status == 200);
    CHECK(set.json().at("on_hand") == 9);
    CHECK(set.json().at("reserved") == 6);
    CHECK(set.json().at("available") == 3);
    // Lowered to 3 available (threshold 5): announced once, with what is left.
    auto lows = accounts_test::events_of_type(app, variant_id, "catalog.stock_low");
    REQUIRE(lows.size() == 1);
    CHECK(lows[0].payload.at("available") == 3);
    CHECK(lows[0].payload.at("threshold") == 5);
    CHECK(lows[0].payload.at("product_id") == product.at("id"));
    // Raising stock never alerts.
    REQUIRE(send_json(app, "PUT", stock_url, json::object{{"on_hand", 10}}, admin).status == 200);
    CHECK(accounts_test::events_of_type(app, variant_id, "catalog.stock_low").size() == 1);
    CHECK(audit_count(app, variant_id, "catalog.stock.set") == 2);

    auto invalid = send_json(app, "PUT", stock_url, json::object{{"on_hand", -1}}, admin);
    CHECK(invalid.status == 422);
    CHECK(has_error_field(invalid, "on_hand"));
    CHECK(send_json(app, "PUT", "/admin/v1/variants/" + platform::new_uuid_v7() + "/stock", json::object{{"on_hand", 1}}, admin).status == 404);
    // A variant with reserved stock cannot be deleted.
    auto del = app.http().del("/admin/v1/products/" + str(product.at("id")) + "/variants/" + variant_id, admin);
    CHECK(del.status == 409);
    CHECK(code_of(del) == "variant_reserved");

    // The low-stock list: available <= threshold, least first, with product ids and stock counts; pages.
    auto second = published_product(app, admin, "Stock Lamp B " + testing::unique_suffix(), {1000}, 1);
    const auto second_variant = str(second.at("variants").as_array()[0].at("id"));
    std::vector<std::string> seen;
    std::string cursor;
    int last_available = -1;
    for (int page = 0; page < 10000; ++page) {
      auto r = app.http().get("/admin/v1/inventory/low-stock?threshold=4&limit=50" + (cursor.empty() ? "" : "&cursor=" + cursor), admin);
      REQUIRE(r.status == 200);
      const auto doc = r.json();
      for (const auto& v : doc.at("items").as_array()) {
        const int available = static_cast<int>(v.at("available").as_int64());
        CHECK(available <= 4);
        CHECK(available >= last_available);
        last_available = available;
        CHECK(v.as_object().contains("product_id"));
        CHECK(v.at("available") == v.at("on_hand").as_int64() - v.at("reserved").as_int64());
        seen.push_back(str(v.at("id")));
      }
      if (doc.at("next_cursor").is_null()) break;
      cursor = str(doc.at("next_cursor"));
    }
    CHECK(contains(seen, variant_id));
    CHECK(contains(seen, second_variant));
    CHECK(app.http().get("/admin/v1/inventory/low-stock?threshold=x", admin).status == 422);
  }

  TEST_CASE("catalog: categories form a tree; cycles are refused and parents with children cannot be deleted") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto tag = testing::unique_suffix();
    auto root = create_category(app, admin, "Home " + tag);
    auto child = create_category(app, admin, "Lighting " + tag, str(root.at("id")));
    auto grandchild = create_category(app, admin, "Lamps " + tag, str(child.at("id")));
    CHECK(root.at("slug") == json::value(domain_slug("Home " + tag)));
    CHECK(root.at("parent_id").is_null());
    CHECK(child.at("parent_id") == root.at("id"));
    CHECK(grandchild.at("children").as_array().empty());

    auto tree = app.http().get("/api/v1/categories");
    REQUIRE(tree.status == 200);
    const auto forest = tree.json();
    const json::value* found = nullptr;
    for (const auto& c : forest.at("items").as_array()) {
      if (c.at("id") == root.at("id")) found = &c;
    }
    REQUIRE(found != nullptr);
    CHECK(found->at("children").as_array().size() == 1);
    CHECK(found->at("children").as_array()[0].at("children").as_array()[0].at("id") == grandchild.at("id"));

    const auto root_url = "/admin/v1/categories/" + str(root.at("id"));
    auto cycle = send_json(app, "PATCH", root_url, json::object{{"parent_id", grandchild.at("id")}}, admin);
    CHECK(cycle.status == 422);
    CHECK(has_error_field(cycle, "parent_id"));
    CHECK(send_json(app, "PATCH", root_url, json::object{{"parent_id", root.at("id")}}, admin).status == 422);
    CHECK(send_json(app, "PATCH", root_url, json::object{{"parent_id", platform::new_uuid_v7()}}, admin).status == 422);

    auto has_children = app.http().del(root_url, admin);
    CHECK(has_children.status == 409);
    CHECK(code_of(has_children) == "category_has_children");

    // Moving the grandchild to the top and renaming it; the subtree answer reflects the move.
    auto moved = send_json(app, "PATCH", "/admin/v1/categories/" + str(grandchild.at("id")),
                           json::object{{"parent_id", nullptr}, {"name", "Lamps & Lights " + tag}}, admin);
    REQUIRE(moved.status == 200);
    CHECK(moved.json().at("parent_id").is_null());
    CHECK(moved.json().at("name") == json::value("Lamps & Lights " + tag));

    auto same_name = create_category(app, admin, "Home " + tag);
    CHECK(same_name.at("slug") == json::value(str(root.at("slug")) + "-2"));
    auto dup = send_json(app, "POST", "/admin/v1/categories", json::object{{"name", "x"}, {"slug", root.at("slug")}}, admin);
    CHECK(dup.status == 409);
    CHECK(send_json(app, "POST", "/admin/v1/categories", json::object{{"name", ""}}, admin).status == 422);

    CHECK(app.http().del("/admin/v1/categories/" + str(child.at("id")), admin).status == 204);
    CHECK(app.http().del(root_url, admin).status == 204);
    CHECK(app.http().del(root_url, admin).status == 404);
    CHECK(audit_count(app, str(root.at("id")), "catalog.category.delete") == 1);
  }

  TEST_CASE("catalog: the admin list shows every status, filtered by status and search, newest first") {
    TestApp app;
    const auto admin = admin_token(app);
    const auto word = "adm" + testing::unique_suffix();
    auto draft = create_product(app, admin, {{"title", "Draft " + word}});
    auto live = create_product(app, admin, {{"title", "Live " + word}, {"status", "published"}});
    auto gone = create_product(app, admin, {{"title", "Gone " + word}, {"status", "archived"}});

    auto all = app.http().get("/admin/v1/products?q=" + word, admin);
    REQUIRE(all.status == 200);
    CHECK(ids_of(all.json()) == std::vector<std::string>{str(gone.at("id")), str(live.at("id")), str(draft.at("id"))});
    auto drafts = app.http().get("/admin/v1/products?status=draft&q=" + word, admin);
    CHECK(ids_of(drafts.json()) == std::vector<std::string>{str(draft.at("id"))});
    auto page1 = app.http().get("/admin/v1/products?limit=2&q=" + word, admin).json();
    REQUIRE(page1.at("next_cursor").is_string());
    auto page2 = app.http().get("/admin/v1/products?limit=2&q=" + word + "&cursor=" + str(page1.at("next_cursor")), admin).json();
    CHECK(ids_of(page2) == std::vector<std::string>{str(draft.at("id"))});
    CHECK(page2.at("next_cursor").is_null());
    CHECK(app.http().get("/admin/v1/products?status=gone", admin).status == 422);
    // The admin view shows stock counts.
    add_variant(app, admin, str(live.at("id")), "ADM-" + testing::unique_suffix(), 100, 3);
    auto admin_view = app.http().get("/admin/v1/products/" + str(live.at("id")), admin).json();
    CHECK(admin_view.at("variants").as_array()[0].at("on_hand") == 3);
  }
}
