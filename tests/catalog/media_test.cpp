// Image uploads and /media against the real PostgreSQL and a temporary media directory: the type is
// checked by magic bytes, files are served with a strong ETag and long cache lifetime, keys cannot
// escape the media directory, and deleting an image removes its file.
#include "catalog/catalog_support.hpp"

#include <platform/ids.hpp>
#include <platform/security.hpp>

#include <filesystem>
#include <fstream>

using namespace bazaar;
using namespace bazaar::catalog_test;

namespace {

// A real 1×1 PNG.
const std::string& tiny_png() {
  static const unsigned char bytes[] = {
      0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
      0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
      0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
  static const std::string png(reinterpret_cast<const char*>(bytes), sizeof(bytes));
  return png;
}

constexpr char kJpegBytes[] = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9";
const std::string kJpeg(kJpegBytes, sizeof(kJpegBytes) - 1);

HttpResponse upload(TestApp& app, const std::string& token, const std::string& product_id, const std::string& bytes,
                    const std::string& content_type, const std::string& query = "") {
  return app.http().send(HttpRequest{"POST", "/admin/v1/products/" + product_id + "/images" + query, bytes,
                                     {{"Content-Type", content_type}}, token});
}

std::filesystem::path media_dir(TestApp& app) { return app.platform().config().string("media.dir", ""); }

}  // namespace

TEST_SUITE("db.catalog") {
  TEST_CASE("catalog: an uploaded image is served at its URL with a strong ETag, immutable caching and 304s") {
    TestApp app;
    const auto admin = admin_token(app);
    auto product = published_product(app, admin, "Pictured Vase " + testing::unique_suffix(), {1200});
    const auto id = str(product.at("id"));

    auto r = upload(app, admin, id, tiny_png(), "image/png", "?alt=Front%20view");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    const auto image = r.json().as_object();
    CHECK(platform::is_uuid(str(image.at("id"))));
    CHECK(image.at("alt") == "Front view");
    CHECK(image.at("position") == 0);
    const auto url = str(image.at("url"));
    REQUIRE(url.starts_with("/media/"));
    CHECK(url.ends_with(".png"));
    const auto key = url.substr(7);
    CHECK(std::filesystem::exists(media_dir(app) / key));

    auto second = upload(app, admin, id, kJpeg, "image/jpeg");
    REQUIRE(second.status == 201);
    CHECK(second.json().at("position") == 1);
    CHECK(str(second.json().at("url")).ends_with(".jpg"));

    // The product lists its images in position order, for customers too (the cache was invalidated).
    auto customer = app.http().get("/api/v1/products/" + id).json();
    REQUIRE(customer.at("images").as_array().size() == 2);
    CHECK(customer.at("images").as_array()[0] == json::value(image));

    auto served = app.http().get(url);
    REQUIRE(served.status == 200);
    CHECK(served.body == tiny_png());
    CHECK(served.header("Content-Type") == "image/png");
    CHECK(served.header("Cache-Control") == "public, max-age=31536000, immutable");
    const auto etag = served.header("ETag").value_or("");
    CHECK(etag == "\"" + platform::security::sha256_hex(tiny_png()) + "\"");

    auto again = app.http().send(HttpRequest{"GET", url, "", {{"If-None-Match", etag}}, ""});
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    CHECK(again.header("ETag") == etag);
    auto weak = app.http().send(HttpRequest{"GET", url, "", {{"If-None-Match", "\"other\", W/" + etag}}, ""});
    CHECK(weak.status == 304);
    auto changed = app.http().send(HttpRequest{"GET", url, "", {{"If-None-Match", "\"something-else\""}}, ""});
    CHECK(changed.status == 200);

    // Deleting the image removes the row and the file.
    const auto image_url = "/admin/v1/products/" + id + "/images/" + str(image.at("id"));
    CHECK(app.http().del(image_url, admin).status == 204);
    CHECK(app.http().get(url).status == 404);
    CHECK_FALSE(std::filesystem::exists(media_dir(app) / key));
    CHECK(app.http().del(image_url, admin).status == 404);
    CHECK(app.http().get("/api/v1/products/" + id).json().at("images").as_array().size() == 1);
    CHECK(contains(event_types(app, id), "catalog.product_updated"));
  }

  TEST_CASE("catalog: an upload whose bytes are not what its Content-Type claims is refused") {
    TestApp app;
    const auto admin = admin_token(app);
    auto product = create_product(app, admin, {{"title", "Unpictured " + testing::unique_suffix()}});
    const auto id = str(product.at("id"));
    auto text = upload(app, admin, id, "just some text, honestly", "image/png");
    CHECK(text.status == 415);
    CHECK(code_of(text) == "image_type_mismatch");
    auto jpeg_as_png = upload(app, admin, id, kJpeg, "image/png");
    CHECK(jpeg_as_png.status == 415);
    CHECK(code_of(jpeg_as_png) == "image_type_mismatch");
    auto empty = upload(app, admin, id, "", "image/webp");
    CHECK(empty.status == 415);
    auto svg = upload(app, admin, id, "<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml");
    CHECK(svg.status == 415);
    CHECK(code_of(svg) == "unsupported_media_type");
    auto plain = upload(app, admin, id, tiny_png(), "text/plain");
    CHECK(plain.status == 415);
    auto bad_params = upload(app, admin, id, tiny_png(), "image/png", "?position=-1");
    CHECK(bad_params.status == 422);
    CHECK(has_error_field(bad_params, "position"));
    CHECK(upload(app, admin, platform::new_uuid_v7(), tiny_png(), "image/png").status == 404);
    CHECK(app.http().get("/admin/v1/products/" + id, admin).json().at("images").as_array().empty());
    // Nothing was left behind in the media directory by the refused uploads.
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(media_dir(app))) {
      (void)entry;
      ++files;
    }
    CHECK(files == 0);
  }

  TEST_CASE("catalog: media keys cannot name anything outside the media directory") {
    TestApp app;
    // A file next to the media directory that a traversal would reach.
    const auto outside = media_dir(app).parent_path() / ("secret-" + testing::unique_suffix() + ".png");
    {
      std::ofstream(outside) << "secret";
    }
    for (const std::string& target : std::vector<std::string>{"/media/..%2F" + outside.filename().string(), "/media/%2E%2E%2F" + outside.filename().string(),
          "/media/" + outside.filename().string(), "/media/..", "/media/.%2e", "/media/%00",
          "/media/" + platform::new_uuid_v7() + ".png", "/media/" + platform::new_uuid_v7() + ".exe"}) {
      CAPTURE(target);
      auto r = app.http().get(target);
      CHECK(r.status == 404);
      CHECK(r.body.find("secret") == std::string::npos);
    }
    std::filesystem::remove(outside);
  }
}
