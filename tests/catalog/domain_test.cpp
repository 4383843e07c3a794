// Pure rules of the catalog: slugs, image types and media keys, list parameters and cursors, stock
// arithmetic, JSON helpers and the demo-data generator. No database.
#include "domain/image.hpp"
#include "domain/listing.hpp"
#include "domain/slug.hpp"
#include "domain/stock.hpp"
#include "json_mapping.hpp"
#include "seed.hpp"

#include <platform/ids.hpp>
#include <platform/pagination.hpp>

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace bazaar::catalog;
namespace json = boost::json;

namespace {

domain::ParamLookup params(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::set<std::string> fields(const bazaar::platform::Error& e) {
  std::set<std::string> out;
  for (const auto& f : e.fields) out.insert(f.field);
  return out;
}

}  // namespace

TEST_SUITE("catalog") {
  TEST_CASE("catalog: slugs are derived from titles, accents folded, words dash-separated") {
    CHECK(domain::slugify("Merino Wool Scarf", "x") == "merino-wool-scarf");
    CHECK(domain::slugify("  Crème Brûlée -- Torch!  ", "x") == "creme-brulee-torch");
    CHECK(domain::slugify("Women's Jeans (Slim)", "x") == "womens-jeans-slim");
    CHECK(domain::slugify("Łódź Żółć Straße Æble", "x") == "lodz-zolc-strasse-aeble");
    CHECK(domain::slugify("日本語", "product") == "product");
    CHECK(domain::slugify("", "product") == "product");
    CHECK(domain::slugify("\xff\xfe broken", "x") == "broken");
    const std::string long_title(300, 'a');
    CHECK(domain::slugify(long_title, "x").size() == domain::kDerivedSlugLength);
    const auto words = domain::slugify(std::string(60, 'a') + " " + std::string(60, 'b'), "x");
    CHECK(words == std::string(60, 'a'));  // cut at the word boundary
    // A title that slugifies to a UUID shape would be ambiguous with /products/{id}.
    CHECK(domain::slugify("0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b", "product") == "product");
  }

  TEST_CASE("catalog: valid slugs are lower-case words joined by single dashes, never UUID-shaped") {
    CHECK(domain::is_valid_slug("merino-wool-scarf"));
    CHECK(domain::is_valid_slug("a"));
    CHECK(domain::is_valid_slug("2024-edition"));
    CHECK_FALSE(domain::is_valid_slug(""));
    CHECK_FALSE(domain::is_valid_slug("Merino"));
    CHECK_FALSE(domain::is_valid_slug("-a"));
    CHECK_FALSE(domain::is_valid_slug("a-"));
    CHECK_FALSE(domain::is_valid_slug("a--b"));
    CHECK_FALSE(domain::is_valid_slug("a_b"));
    CHECK_FALSE(domain::is_valid_slug("a/b"));
    CHECK_FALSE(domain::is_valid_slug("../etc"));
    CHECK_FALSE(domain::is_valid_slug(std::string(domain::kMaxSlugLength + 1, 'a')));
    CHECK_FALSE(domain::is_valid_slug("0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b"));
  }

  TEST_CASE("catalog: derived slug candidates are base, base-2, base-3, ... and the first free one wins") {
    CHECK(domain::slug_candidates("lamp", 1, 3) == std::vector<std::string>{"lamp", "lamp-2", "lamp-3"});
    CHECK(domain::slug_candidates("lamp", 21, 2) == std::vector<std::string>{"lamp-21", "lamp-22"});
    const auto c = domain::slug_candidates("lamp", 1, 4);
    CHECK(domain::first_free(c, {}) == "lamp");
    CHECK(domain::first_free(c, {"lamp"}) == "lamp-2");
    CHECK(domain::first_free(c, {"lamp", "lamp-2", "lamp-4"}) == "lamp-3");
    CHECK_FALSE(domain::first_free(c, {"lamp", "lamp-2", "lamp-3", "lamp-4"}).has_value());
  }

  TEST_CASE("catalog: image types are recognised by their magic bytes, not by the declared type") {
    const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    const std::string jpeg("\xFF\xD8\xFF\xE0\0\x10JFIF", 10);
    const std::string webp = std::string("RIFF") + std::string("\x24\0\0\0", 4) + "WEBPVP8 ";
    CHECK(domain::sniff_image_type(png) == domain::ImageType::png);
    CHECK(domain::sniff_image_type(jpeg) == domain::ImageType::jpeg);
    CHECK(domain::sniff_image_type(webp) == domain::ImageType::webp);
    CHECK_FALSE(domain::sniff_image_type("hello, I am text").has_value());
    CHECK_FALSE(domain::sniff_image_type("").has_value());
    CHECK_FALSE(domain::sniff_image_type("\x89PNG").has_value());                   // truncated signature
    CHECK_FALSE(domain::sniff_image_type(std::string("RIFF\0\0\0\0WAVE", 12)).has_value());  // RIFF, not WebP
    CHECK_FALSE(domain::sniff_image_type("<svg xmlns='http://www.w3.org/2000/svg'/>").has_value());

    CHECK(domain::image_type_from_content_type("image/png") == domain::ImageType::png);
    CHECK(domain::image_type_from_content_type("IMAGE/JPEG; charset=binary") == domain::ImageType::jpeg);
    CHECK(domain::image_type_from_content_type(" image/webp ") == domain::ImageType::webp);
    CHECK_FALSE(domain::image_type_from_content_type("image/svg+xml").has_value());
    CHECK_FALSE(domain::image_type_from_content_type("image/gif").has_value());
    CHECK_FALSE(domain::image_type_from_content_type("text/plain").has_value());
    CHECK(domain::content_type(domain::ImageType::jpeg) == "image/jpeg");
    CHECK(domain::extension(domain::ImageType::jpeg) == "jpg");
  }

  TEST_CASE("catalog: media keys are a UUID plus an image extension and nothing else") {
    const auto key = domain::new_media_key(domain::ImageType::webp);
    CHECK(domain::is_valid_media_key(key));
    CHECK(key.ends_with(".webp"));
    CHECK(bazaar::platform::is_uuid(key.substr(0, 36)));
    CHECK(domain::media_key_type(key) == domain::ImageType::webp);
    CHECK(domain::new_media_key(domain::ImageType::png) != domain::new_media_key(domain::ImageType::png));
    for (const char* bad : {"", "..", "../etc/passwd", "0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b",
                            "0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b.gif", "0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b.png/",
                            "0190A5B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B.png", "0190a5b2/1c3d-7e4f-8a9b-0c1d2e3f4a5b.png",
                            "0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b.png.png", "x0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5.png"}) {
      CAPTURE(bad);
      CHECK_FALSE(domain::is_valid_media_key(bad));
    }
  }

  TEST_CASE("catalog: list parameters default to newest (relevance with q), 20 items") {
    auto q = domain::parse_list_query(params({}));
    REQUIRE(q.has_value());
    CHECK(q->sort == domain::Sort::newest);
    CHECK(q->limit == 20);
    CHECK_FALSE(q->after);
    auto s = domain::parse_list_query(params({{"q", "  wool scarf "}}));
    REQUIRE(s.has_value());
    CHECK(s->q == "wool scarf");
    CHECK(s->sort == domain::Sort::relevance);
    auto all = domain::parse_list_query(params({{"q", "x"}, {"category", "knitwear"}, {"min_price", "100"},
                                                {"max_price", "200"}, {"in_stock", "false"}, {"sort", "title"},
                                                {"limit", "100"}}));
    REQUIRE(all.has_value());
    CHECK(all->category == "knitwear");
    CHECK(all->min_price == 100);
    CHECK(all->max_price == 200);
    CHECK(all->in_stock == false);
    CHECK(all->sort == domain::Sort::title);
    CHECK(all->limit == 100);
    auto by_id = domain::parse_list_query(params({{"category", "0190A5B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B"}}));
    REQUIRE(by_id.has_value());
    CHECK(by_id->category == "0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b");
  }

  TEST_CASE("catalog: invalid list parameters are one field error each") {
    auto r = domain::parse_list_query(params({{"sort", "cheapest"}, {"limit", "0"}, {"min_price", "-1"},
                                              {"in_stock", "yes"}, {"category", "Not A Slug"},
                                              {"cursor", "!!!"}}));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == bazaar::platform::Errc::validation_failed);
    CHECK(fields(r.error()) == std::set<std::string>{"sort", "limit", "min_price", "in_stock", "category", "cursor"});
    auto inverted = domain::parse_list_query(params({{"min_price", "500"}, {"max_price", "100"}}));
    REQUIRE_FALSE(inverted.has_value());
    CHECK(fields(inverted.error()) == std::set<std::string>{"max_price"});
    auto relevance = domain::parse_list_query(params({{"sort", "relevance"}}));
    REQUIRE_FALSE(relevance.has_value());
    CHECK(fields(relevance.error()) == std::set<std::string>{"sort"});
    auto huge = domain::parse_list_query(params({{"max_price", "99999999999999999999"}, {"q", std::string(201, 'q')}}));
    REQUIRE_FALSE(huge.has_value());
    CHECK(fields(huge.error()) == std::set<std::string>{"max_price", "q"});
  }

  TEST_CASE("catalog: a cursor belongs to its sort and carries a well-formed key") {
    const std::string id = bazaar::platform::new_uuid_v7();
    auto price = domain::parse_list_query(
        params({{"sort", "price_asc"}, {"cursor", domain::encode_list_cursor(domain::Sort::price_asc, "1999", id)}}));
    REQUIRE(price.has_value());
    REQUIRE(price->after);
    CHECK(price->after->key == "1999");
    CHECK(price->after->id == id);
    // The same cursor under another sort, a non-numeric price key, a bad rank, a key for newest: all 422.
    const auto foreign = domain::encode_list_cursor(domain::Sort::price_asc, "1999", id);
    CHECK_FALSE(domain::parse_list_query(params({{"sort", "price_desc"}, {"cursor", foreign}})).has_value());
    CHECK_FALSE(domain::parse_list_query(
        params({{"sort", "price_asc"}, {"cursor", domain::encode_list_cursor(domain::Sort::price_asc, "abc", id)}})).has_value());
    CHECK_FALSE(domain::parse_list_query(params(
        {{"q", "x"}, {"cursor", domain::encode_list_cursor(domain::Sort::relevance, "nan", id)}})).has_value());
    CHECK(domain::parse_list_query(params(
        {{"q", "x"}, {"cursor", domain::encode_list_cursor(domain::Sort::relevance, "0.0607927", id)}})).has_value());
    CHECK_FALSE(domain::parse_list_query(
        params({{"cursor", domain::encode_list_cursor(domain::Sort::newest, "x", id)}})).has_value());
    CHECK_FALSE(domain::parse_list_query(
        params({{"cursor", domain::encode_list_cursor(domain::Sort::newest, "", "not-a-uuid")}})).has_value());
    CHECK(domain::parse_list_query(params({{"cursor", domain::encode_list_cursor(domain::Sort::newest, "", id)}})).has_value());
  }

  TEST_CASE("catalog: equivalent list requests share one cache key, different ones never do") {
    auto a = domain::parse_list_query(params({{"q", " wool "}, {"sort", "relevance"}}));
    auto b = domain::parse_list_query(params({{"q", "wool"}}));
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a->cache_key() == b->cache_key());
    auto c = domain::parse_list_query(params({{"q", "wool"}, {"limit", "21"}}));
    auto d = domain::parse_list_query(params({{"q", "wool"}, {"in_stock", "true"}}));
    auto e = domain::parse_list_query(params({{"category", "wool"}}));
    REQUIRE(c.has_value());
    REQUIRE(d.has_value());
    REQUIRE(e.has_value());
    const std::set<std::string> keys{b->cache_key(), c->cache_key(), d->cache_key(), e->cache_key()};
    CHECK(keys.size() == 4);
  }

  TEST_CASE("catalog: admin and low-stock list parameters") {
    auto a = domain::parse_admin_list_query(params({{"status", "draft"}, {"q", "lamp"}, {"limit", "5"}}));
    REQUIRE(a.has_value());
    CHECK(a->status == "draft");
    CHECK(a->limit == 5);
    auto bad = domain::parse_admin_list_query(params({{"status", "deleted"}, {"cursor", "Zm9v"}}));
    REQUIRE_FALSE(bad.has_value());
    CHECK(fields(bad.error()) == std::set<std::string>{"status", "cursor"});
    auto low = domain::parse_low_stock_query(params({}), 5);
    REQUIRE(low.has_value());
    CHECK(low->threshold == 5);
    auto low2 = domain::parse_low_stock_query(params({{"threshold", "0"}}), 5);
    REQUIRE(low2.has_value());
    CHECK(low2->threshold == 0);
    CHECK_FALSE(domain::parse_low_stock_query(params({{"threshold", "-1"}}), 5).has_value());
    CHECK_FALSE(domain::parse_low_stock_query(params({{"threshold", "ten"}}), 5).has_value());
  }

  TEST_CASE("catalog: availability is never negative; stock alerts only when stock went down to the threshold") {
    CHECK(domain::available(10, 3) == 7);
    CHECK(domain::available(3, 3) == 0);
    CHECK(domain::available(2, 5) == 0);
    CHECK(domain::is_stock_low_after(10, 4, 4, 5));
    CHECK(domain::is_stock_low_after(10, 5, 5, 5));
    CHECK_FALSE(domain::is_stock_low_after(10, 6, 6, 5));
    CHECK_FALSE(domain::is_stock_low_after(2, 4, 4, 5));  // restocked, still low: no alert
    CHECK_FALSE(domain::is_stock_low_after(4, 4, 4, 5));  // unchanged
  }

  TEST_CASE("catalog: reservation lines are merged per variant and must have positive quantities") {
    auto merged = domain::merge_lines({{"b", 1}, {"a", 2}, {"b", 3}});
    REQUIRE(merged);
    REQUIRE(merged->size() == 2);
    CHECK((*merged)[0].variant_id == "a");
    CHECK((*merged)[0].quantity == 2);
    CHECK((*merged)[1].variant_id == "b");
    CHECK((*merged)[1].quantity == 4);
    CHECK_FALSE(domain::merge_lines({}));
    CHECK_FALSE(domain::merge_lines({{"a", 0}}));
    CHECK_FALSE(domain::merge_lines({{"a", -1}}));
    CHECK_FALSE(domain::merge_lines({{"a", domain::kMaxReservationQuantity}, {"a", 1}}));
  }

  TEST_CASE("catalog: PostgreSQL's json output is compacted without touching strings") {
    CHECK(compact_json(R"({"a" : 1, "b" : [1, 2], "c" : {"d" : "x y"}})") == R"({"a":1,"b":[1,2],"c":{"d":"x y"}})");
    CHECK(compact_json("[{\"t\" : \"say \\\"hi\\\" , ok\"}, \n {\"t\" : \"\\\\\"}]") ==
          "[{\"t\":\"say \\\"hi\\\" , ok\"},{\"t\":\"\\\\\"}]");
    CHECK(json::parse(compact_json(R"({"s" : "tab\tand newline\n"})")).at("s") == "tab\tand newline\n");
  }

  TEST_CASE("catalog: page bodies wrap ready items and a cursor") {
    CHECK(page_body({}, std::nullopt) == R"({"items":[],"next_cursor":null})");
    const auto body = page_body({R"({"id":"a"})", R"({"id":"b"})"}, std::string("abc"));
    const auto doc = json::parse(body);
    CHECK(doc.at("items").as_array().size() == 2);
    CHECK(doc.at("next_cursor") == "abc");
  }

  TEST_CASE("catalog: categories form a forest with children ordered as given") {
    std::vector<repo::CategoryRow> rows{{"1", "clothing", "Clothing", std::nullopt},
                                       {"2", "knitwear", "Knitwear", std::string("1")},
                                       {"3", "home", "Home", std::nullopt},
                                       {"4", "tops", "Tops", std::string("1")},
                                       {"5", "cardigans", "Cardigans", std::string("2")}};
    const auto forest = category_forest(rows);
    REQUIRE(forest.size() == 2);
    CHECK(forest[0].at("slug") == "clothing");
    CHECK(forest[0].at("parent_id").is_null());
    const auto& children = forest[0].at("children").as_array();
    REQUIRE(children.size() == 2);
    CHECK(children[0].at("slug") == "knitwear");
    CHECK(children[1].at("slug") == "tops");
    CHECK(children[0].at("children").as_array()[0].at("slug") == "cardigans");
    CHECK(forest[1].at("children").as_array().empty());
    auto sub = category_subtree(rows, "2");
    REQUIRE(sub);
    CHECK(sub->at("parent_id") == "1");
    CHECK(sub->at("children").as_array().size() == 1);
    CHECK_FALSE(category_subtree(rows, "9"));
  }

  TEST_CASE("catalog: the demo catalog is the same on every run and in any batching") {
    const auto a = seed::generate(1, 12);
    const auto b = seed::generate(1, 12);
    const auto tail = seed::generate(7, 12);
    REQUIRE(a.products.size() == 12);
    CHECK(a.categories.size() == 22);
    CHECK(tail.categories.empty());
    for (std::size_t i = 0; i < a.products.size(); ++i) {
      CHECK(a.products[i].id == b.products[i].id);
      CHECK(a.products[i].title == b.products[i].title);
      CHECK(a.products[i].description == b.products[i].description);
    }
    for (std::size_t i = 0; i < tail.products.size(); ++i) {
      CHECK(tail.products[i].id == a.products[i + 6].id);
      CHECK(tail.products[i].slug == a.products[i + 6].slug);
    }
    CHECK(a.products[0].id == seed::product_id(1));
    CHECK(bazaar::platform::is_uuid(a.products[0].id));
    CHECK(seed::product_id(2) > seed::product_id(1));  // time-ordered: newest first is highest number
    std::set<std::string> skus;
    std::map<std::string, int> per_product;
    for (const auto& v : a.variants) {
      skus.insert(v.sku);
      ++per_product[v.product_id];
      CHECK(v.price % 100 == 99);
      CHECK(json::parse(v.options_json).as_object().contains("colour"));
    }
    CHECK(skus.size() == a.variants.size());
    for (const auto& [id, n] : per_product) {
      CHECK(n >= 2);
      CHECK(n <= 5);
    }
    for (const auto& p : a.products) {
      CHECK(domain::is_valid_slug(p.slug));
      CHECK(p.description.size() > 80);
      CHECK(p.description.find(p.title) == 0);
      CHECK(p.min_price <= p.max_price);
    }
  }
}
