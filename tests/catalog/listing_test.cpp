// Customer reads against the real PostgreSQL: one product by id or slug, lists with every filter and sort,
// keyset pagination across page boundaries while products are being added, search ranking, and drafts and
// archived products staying invisible.
#include "catalog/catalog_support.hpp"

#include <platform/ids.hpp>

#include <set>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

// A small catalog under its own category tree:
//   root R ─ child C;  O elsewhere.
//   p1 "Alpha <w> Lamp"   in C, 1500 and 3500, stock 5
//   p2 "Bravo <w> Vase"   in R, 2500, stock 0 (sold out)
//   p3 "Charlie Lamp"     in C, 500 and 9000, stock 2; <w> only in its description
//   p7 "Echo Chair"       in R, 7000, stock 1
//   p4 "Delta Lamp"       in O (outside R), 4000
//   p5 draft and p6 archived, both in C
struct Fixture {
  std::string admin;
  std::string word;
  std::string root, root_slug, child, other;
  std::string p1, p2, p3, p4, p5, p6, p7;
};

Fixture make_fixture(TestApp& app) {
  Fixture f;
  f.admin = admin_token(app);
  const auto tag = testing::unique_suffix();
  f.word = "w" + tag;
  auto root = create_category(app, f.admin, "Root " + tag);
  f.root = str(root.at("id"));
  f.root_slug = str(root.at("slug"));
  f.child = str(create_category(app, f.admin, "Child " + tag, f.root).at("id"));
  f.other = str(create_category(app, f.admin, "Other " + tag).at("id"));
  auto id = [](const json::object& p) { return str(p.at("id")); };
  f.p1 = id(published_product(app, f.admin, "Alpha " + f.word + " Lamp", {1500, 3500}, 5, f.child));
  f.p2 = id(published_product(app, f.admin, "Bravo " + f.word + " Vase", {2500}, 0, f.root));
  f.p3 = id(published_product(app, f.admin, "Charlie Lamp", {500, 9000}, 2, f.child,
                              "A lamp that mentions " + f.word + " in passing."));
  f.p4 = id(published_product(app, f.admin, "Delta " + f.word + " Lamp", {4000}, 3, f.other));
  auto draft = create_product(app, f.admin, {{"title", "Draft " + f.word}, {"category_ids", json::array{json::value(f.child)}}});
  f.p5 = id(draft);
  add_variant(app, f.admin, f.p5, "D-" + tag, 1000, 5);
  auto archived = published_product(app, f.admin, "Archived " + f.word, {1000}, 5, f.child);
  f.p6 = id(archived);
  REQUIRE(app.http().del("/admin/v1/products/" + f.p6, f.admin).status == 204);
  f.p7 = id(published_product(app, f.admin, "Echo Chair", {7000}, 1, f.root));
  return f;
}

json::value list(TestApp& app, const std::string& query) {
  auto r = app.http().get("/api/v1/products?" + query);
  REQUIRE_MESSAGE(r.status == 200, query << ": " << r.body);
  return r.json();
}

// Every page of `query` with `limit` items, following next_cursor; `between` runs after each page.
std::vector<std::string> walk(TestApp& app, const std::string& query, int limit,
                              const std::function<void()>& between = {}, std::string cursor = {}) {
  std::vector<std::string> ids;
  for (int page = 0; page < 100; ++page) {
    auto doc = list(app, query + "&limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor));
    const auto items = ids_of(doc);
    CHECK(static_cast<int>(items.size()) <= limit);
    ids.insert(ids.end(), items.begin(), items.end());
    if (doc.at("next_cursor").is_null()) return ids;
    cursor = str(doc.at("next_cursor"));
    if (between) between();
  }
  FAIL("pagination did not end");
  return ids;
}

// `seen` holds each of `expected` exactly once, in that order, plus at most once each of `allowed_extra`.
void check_walk(const std::vector<std::string>& seen, const std::vector<std::string>& expected,
                const std::set<std::string>& allowed_extra = {}) {
  std::vector<std::string> originals;
  std::set<std::string> unique;
  for (const auto& id : seen) {
    CHECK_MESSAGE(unique.insert(id).second, "repeated " << id);
    if (allowed_extra.contains(id)) continue;
    originals.push_back(id);
  }
  CHECK(originals == expected);
}

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: a published product by id or slug, without stock counts, availability never negative") {
    TestApp app;
    auto f = make_fixture(app);
    auto by_id = app.http().get("/api/v1/products/" + f.p2);
    REQUIRE(by_id.status == 200);
    const auto product = by_id.json();
    auto by_slug = app.http().get("/api/v1/products/" + str(product.at("slug")));
    REQUIRE(by_slug.status == 200);
    CHECK(by_slug.json() == product);
    CHECK(product.at("category_ids") == json::array{json::value(f.root)});
    const auto& variant = product.at("variants").as_array().at(0).as_object();
    CHECK(variant.size() == 6);  // id, sku, title, options, price, available
    CHECK(variant.at("available") == 0);
    CHECK(app.http().get("/api/v1/products/" + platform::new_uuid_v7()).status == 404);
    CHECK(app.http().get("/api/v1/products/no-such-product-" + f.word).status == 404);
    CHECK(app.http().get("/api/v1/products/Not%20A%20Slug").status == 404);
    // An upper-case id names the same product.
    std::string upper = f.p2;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(app.http().get("/api/v1/products/" + upper).status == 200);
  }

  TEST_CASE("catalog: drafts and archived products are invisible to customers") {
    TestApp app;
    auto f = make_fixture(app);
    CHECK(app.http().get("/api/v1/products/" + f.p5).status == 404);
    CHECK(app.http().get("/api/v1/products/" + f.p6).status == 404);
    for (const auto& query : {"q=" + f.word, "category=" + f.root, "category=" + f.child + "&sort=title",
                              "q=" + f.word + "&sort=price_asc&in_stock=true"}) {
      CAPTURE(query);
      const auto ids = ids_of(list(app, query + "&limit=100"));
      CHECK_FALSE(contains(ids, f.p5));
      CHECK_FALSE(contains(ids, f.p6));
    }
  }

  TEST_CASE("catalog: every sort pages through the results in order, without gaps or repeats") {
    TestApp app;
    auto f = make_fixture(app);
    const auto in_root = "category=" + f.root;
    for (int limit : {1, 2, 3, 100}) {
      CAPTURE(limit);
      check_walk(walk(app, in_root, limit), {f.p7, f.p3, f.p2, f.p1});  // newest first (the default)
      check_walk(walk(app, in_root + "&sort=newest", limit), {f.p7, f.p3, f.p2, f.p1});
      check_walk(walk(app, in_root + "&sort=price_asc", limit), {f.p3, f.p1, f.p2, f.p7});   // 500, 1500, 2500, 7000
      check_walk(walk(app, in_root + "&sort=price_desc", limit), {f.p3, f.p7, f.p1, f.p2});  // 9000, 7000, 3500, 2500
      check_walk(walk(app, in_root + "&sort=title", limit), {f.p1, f.p2, f.p3, f.p7});
      // Title matches (weight A) outrank a description match (weight B); equal ranks go by id.
      check_walk(walk(app, "q=" + f.word + "&" + in_root, limit), {f.p1, f.p2, f.p3});
    }
    const auto last = list(app, in_root + "&limit=4");
    CHECK(last.at("next_cursor").is_null());
    const auto more = list(app, in_root + "&limit=3");
    CHECK(more.at("next_cursor").is_string());
  }

  TEST_CASE("catalog: pagination stays consistent while products are added between pages") {
    TestApp app;
    auto f = make_fixture(app);
    const auto in_root = "category=" + f.root;
    std::set<std::string> added;
    int n = 0;
    // Between pages (three times per walk) two products arrive that land at both ends of every order:
    // cheapest and dearest, alphabetically first and last, and always newest.
    auto adder = [&] {
      return [&, budget = 3]() mutable {
        if (budget-- <= 0) return;
        const auto k = std::to_string(n++);
        added.insert(str(published_product(app, f.admin, "Aa " + k + " " + f.word, {100}, 1, f.child).at("id")));
        added.insert(str(published_product(app, f.admin, "Zz " + k + " " + f.word, {99000}, 1, f.root).at("id")));
      };
    };
    check_walk(walk(app, in_root + "&sort=price_asc", 1, adder()), {f.p3, f.p1, f.p2, f.p7}, added);
    check_walk(walk(app, in_root + "&sort=price_desc", 1, adder()), {f.p3, f.p7, f.p1, f.p2}, added);
    check_walk(walk(app, in_root + "&sort=title", 2, adder()), {f.p1, f.p2, f.p3, f.p7}, added);
    // Same rank as p1 (the word once in the title): after p1 by id, before p3's description match.
    check_walk(walk(app, "q=" + f.word + "&sort=relevance&category=" + f.child, 1, adder()), {f.p1, f.p3}, added);
    // Newest first from a fixed starting point: everything added after the first page is newer than the
    // cursor, so none of it shows up, and the originals come exactly once.
    auto first = list(app, in_root + "&sort=newest&limit=1");
    const auto top = ids_of(first);
    const std::set<std::string> before_walk = added;
    auto rest = walk(app, in_root + "&sort=newest", 1, adder(), str(first.at("next_cursor")));
    for (const auto& id : rest) {
      CHECK_FALSE((added.contains(id) && !before_walk.contains(id)));
    }
    std::vector<std::string> all = top;
    all.insert(all.end(), rest.begin(), rest.end());
    std::vector<std::string> expected(before_walk.begin(), before_walk.end());
    std::sort(expected.begin(), expected.end(), std::greater<>());  // UUIDv7: newest first = descending
    for (const auto& id : {f.p7, f.p3, f.p2, f.p1}) expected.push_back(id);
    CHECK(all == expected);
  }

  TEST_CASE("catalog: filters by category with descendants, price range and stock") {
    TestApp app;
    auto f = make_fixture(app);
    auto ids = [&](const std::string& query) {
      auto v = ids_of(list(app, query + "&limit=100"));
      return std::set<std::string>(v.begin(), v.end());
    };
    using S = std::set<std::string>;
    CHECK(ids("category=" + f.root) == S{f.p1, f.p2, f.p3, f.p7});
    CHECK(ids("category=" + f.root_slug) == S{f.p1, f.p2, f.p3, f.p7});
    CHECK(ids("category=" + f.child) == S{f.p1, f.p3});
    CHECK(ids("category=" + f.other) == S{f.p4});
    CHECK(ids("category=" + platform::new_uuid_v7()).empty());
    CHECK(ids("category=no-such-category-" + f.word).empty());
    // Prices are matched against the variants, inclusive.
    CHECK(ids("category=" + f.root + "&min_price=3000") == S{f.p1, f.p3, f.p7});
    CHECK(ids("category=" + f.root + "&min_price=3500") == S{f.p1, f.p3, f.p7});
    CHECK(ids("category=" + f.root + "&min_price=3501") == S{f.p3, f.p7});
    CHECK(ids("category=" + f.root + "&max_price=1500") == S{f.p1, f.p3});
    CHECK(ids("category=" + f.root + "&max_price=499") == S{});
    // Both bounds: some variant must lie between them (p3 has 500 and 9000, none in 2000..4000).
    CHECK(ids("category=" + f.root + "&min_price=2000&max_price=4000") == S{f.p1, f.p2});
    CHECK(ids("category=" + f.root + "&min_price=2500&max_price=2500") == S{f.p2});
    CHECK(ids("category=" + f.root + "&in_stock=true") == S{f.p1, f.p3, f.p7});
    CHECK(ids("category=" + f.root + "&in_stock=false") == S{f.p2});
    CHECK(ids("q=" + f.word) == S{f.p1, f.p2, f.p3, f.p4});
    CHECK(ids("q=" + f.word + "&category=" + f.child + "&in_stock=true&max_price=1500") == S{f.p1, f.p3});
    CHECK(ids("q=" + f.word + "%20-lamp") == S{f.p2});  // web-search syntax
    CHECK(ids("q=%22" + f.word + "%20vase%22") == S{f.p2});
    CHECK(ids("q=the").empty());  // only stop words: matches nothing rather than everything
  }

  TEST_CASE("catalog: a price bound against the sort's direction still pages in order") {
    TestApp app;
    auto f = make_fixture(app);
    const auto in_root = "category=" + f.root;
    for (int limit : {1, 2, 100}) {
      CAPTURE(limit);
      // Some variant >= 3000, cheapest first: p3 (500 .. 9000) and p1 (1500 .. 3500) straddle the bound.
      check_walk(walk(app, in_root + "&min_price=3000&sort=price_asc", limit), {f.p3, f.p1, f.p7});
      // Some variant <= 3000, dearest first: p3 and p1 straddle it again, p2 lies below it.
      check_walk(walk(app, in_root + "&max_price=3000&sort=price_desc", limit), {f.p3, f.p1, f.p2});
      check_walk(walk(app, in_root + "&min_price=2000&max_price=8000&sort=price_asc", limit), {f.p1, f.p2, f.p7});
    }
  }

  TEST_CASE("catalog: invalid list parameters are a 422 naming each field") {
    TestApp app;
    auto r = app.http().get("/api/v1/products?sort=cheapest&limit=500&min_price=-5&in_stock=perhaps&cursor=%21");
    REQUIRE(r.status == 422);
    CHECK(r.header("Content-Type") == "application/problem+json");
    for (const char* field : {"sort", "limit", "min_price", "in_stock", "cursor"}) {
      CAPTURE(field);
      CHECK(has_error_field(r, field));
    }
    CHECK(app.http().get("/api/v1/products?sort=relevance").status == 422);
    CHECK(app.http().get("/api/v1/products?min_price=10&max_price=5").status == 422);
    CHECK(app.http().get("/api/v1/products?category=%2E%2E%2Fetc").status == 422);
    // A cursor from one sort is refused by another.
    auto page = app.http().get("/api/v1/products?sort=price_asc&limit=1").json();
    if (page.at("next_cursor").is_string()) {
      auto foreign = app.http().get("/api/v1/products?sort=title&cursor=" + str(page.at("next_cursor")));
      CHECK(foreign.status == 422);
      CHECK(has_error_field(foreign, "cursor"));
    }
  }
}
