// `bazaar seed-demo` against a database of its own (created and dropped here, so the shared test database
// keeps no demo data): deterministic, idempotent, searchable.
#include "catalog/catalog_support.hpp"
#include "seed.hpp"

#include <platform/config.hpp>

#include <iostream>
#include <sstream>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

// The test database's URL with another database name.
std::string with_database(const std::string& url, const std::string& name) {
  const auto slash = url.rfind('/');
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

void admin_sql(const std::string& statement) {
  platform::DatabaseOptions o;
  o.url = testing::database_url();
  o.pool_size = 1;
  platform::Database db(o);
  db.run_sync([&](soci::session& s) { s << statement; });
}

// Runs a module command of `app` with stdout captured.
int run_command(TestApp& app, const std::string& name, const std::vector<std::string>& args, std::string& out) {
  for (const auto& command : app.platform().commands()) {
    if (command.name != name) continue;
    std::ostringstream captured;
    auto* old = std::cout.rdbuf(captured.rdbuf());
    int code = 0;
    try {
      code = command.run(args);
    } catch (...) {
      std::cout.rdbuf(old);
      throw;
    }
    std::cout.rdbuf(old);
    out = captured.str();
    return code;
  }
  FAIL("no command " << name);
  return -1;
}

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: seed-demo loads a deterministic, searchable demo catalog once") {
    const auto name = "bazaar_seed_" + testing::unique_suffix();
    admin_sql("CREATE DATABASE " + name);
    struct Drop {
      std::string name;
      ~Drop() {
        try {
          admin_sql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (const std::exception& e) {
          std::cerr << "could not drop " << name << ": " << e.what() << "\n";
        }
      }
    } drop{name};

    auto config = testing::test_config();
    config.set("database.url", boost::json::string(with_database(testing::database_url(), name)));
    {
      TestApp app(config);
      std::string out;
      CHECK(run_command(app, "seed-demo", {"--products", "nope"}, out) == 2);
      CHECK(run_command(app, "seed-demo", {"--bogus"}, out) == 2);
      REQUIRE(run_command(app, "seed-demo", {"--products", "60"}, out) == 0);
      CHECK(out.find("60 products") != std::string::npos);
      CHECK(count_of(app, "SELECT count(*) FROM catalog.products") == 60);
      CHECK(count_of(app, "SELECT count(*) FROM catalog.categories") == 22);
      const auto variants = scalar(app, "SELECT count(*) FROM catalog.variants WHERE sku LIKE :p", "DEMO-%");
      CHECK(variants >= 120);
      CHECK(variants <= 300);
      CHECK(count_of(app, "SELECT count(*) FROM catalog.categories WHERE parent_id IS NULL") == 5);
      // Summaries agree with the variants they summarise.
      CHECK(count_of(app, R"(SELECT count(*) FROM catalog.products p WHERE (
                             p.min_price IS DISTINCT FROM (SELECT min(price) FROM catalog.variants WHERE product_id = p.id)
                             OR p.available_variants <> (SELECT count(*) FROM catalog.variants
                                                         WHERE product_id = p.id AND on_hand > reserved)))") == 0);

      // Idempotent: a second run leaves everything as it was.
      REQUIRE(run_command(app, "seed-demo", {"--products=80"}, out) == 0);
      CHECK(out.find("already") != std::string::npos);
      CHECK(count_of(app, "SELECT count(*) FROM catalog.products") == 60);

      // Deterministic: product 1 is the generator's product 1, under its computed id.
      const auto expected = catalog::seed::generate(1, 1).products.at(0);
      auto r = app.http().get("/api/v1/products/" + catalog::seed::product_id(1));
      if (expected.status == "published") {
        REQUIRE(r.status == 200);
        CHECK(r.json().at("title") == json::value(expected.title));
        CHECK(r.json().at("slug") == json::value(expected.slug));
      }
      // Searchable: the last word of a published product's title finds products.
      std::string word;
      for (const auto& p : catalog::seed::generate(1, 60).products) {
        if (p.status == "published") {
          word = p.title.substr(p.title.rfind(' ') + 1);
          break;
        }
      }
      auto found = app.http().get("/api/v1/products?q=" + word + "&limit=100");
      REQUIRE(found.status == 200);
      CHECK_FALSE(found.json().at("items").as_array().empty());
      auto tree = app.http().get("/api/v1/categories").json();
      CHECK(tree.at("items").as_array().size() == 5);
    }
  }
}
