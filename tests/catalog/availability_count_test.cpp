// products.available_variants (what ?in_stock= filters on) is kept by a row trigger that fires only when a
// variant's availability flips (migration catalog/0002). Against the real PostgreSQL: updates that flip
// variants either way, several in one statement, and updates that flip nothing keep the count equal to
// the variants that have stock left.
#include "catalog/catalog_support.hpp"
#include "support/shop.hpp"

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

long long scalar(TestApp& app, const std::string& sql, const std::string& product_id) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(product_id), soci::into(n); });
  return n;
}

long long counted(TestApp& app, const std::string& product_id) {
  return scalar(app, "SELECT available_variants FROM catalog.products WHERE id = CAST(:p AS uuid)", product_id);
}

long long actual(TestApp& app, const std::string& product_id) {
  return scalar(app, "SELECT count(*) FROM catalog.variants WHERE product_id = CAST(:p AS uuid) AND on_hand > reserved",
                product_id);
}

void update(TestApp& app, const std::string& sql, const std::string& product_id) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(product_id); });
}

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: a product's count of available variants follows every flip of a variant's availability") {
    TestApp app;
    auto admin = testing::new_admin(app);
    const auto product = testing::new_product(app, admin, 500, 3).product_id;
    // Two more variants of the same product: one with stock, one without.
    update(app, R"sql(INSERT INTO catalog.variants (id, product_id, sku, title, price, currency, on_hand)
                      SELECT gen_random_uuid(), p.id, 'FLIP-' || p.id || '-' || n, 'v' || n, 500, 'EUR', n - 1
                      FROM catalog.products p, generate_series(1, 2) n WHERE p.id = CAST(:p AS uuid))sql",
           product);
    REQUIRE(actual(app, product) == 2);
    CHECK(counted(app, product) == 2);

    const char* statements[] = {
        // Reserve everything of every variant: all flip to unavailable, in one statement.
        "UPDATE catalog.variants SET reserved = on_hand WHERE product_id = CAST(:p AS uuid)",
        // Restock all: the ones with stock flip back; the one at 0 + 0 stays unavailable.
        "UPDATE catalog.variants SET reserved = 0 WHERE product_id = CAST(:p AS uuid)",
        // Changes that flip nothing: price, and stock moving while staying available.
        "UPDATE catalog.variants SET price = price + 1 WHERE product_id = CAST(:p AS uuid)",
        "UPDATE catalog.variants SET on_hand = on_hand + 5, reserved = reserved + 1 "
        "WHERE product_id = CAST(:p AS uuid) AND on_hand > 0",
        // One flips down while another flips up, in the same statement.
        "UPDATE catalog.variants SET on_hand = CASE WHEN on_hand = 0 THEN 4 ELSE reserved END "
        "WHERE product_id = CAST(:p AS uuid)",
    };
    for (const char* sql : statements) {
      CAPTURE(sql);
      update(app, sql, product);
      CHECK(counted(app, product) == actual(app, product));
    }
  }
}
