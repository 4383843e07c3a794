// The served OpenAPI document stays true to the router: every registered route (the platform's and every
// module's) must appear under its path and method. Iterates the router, so it keeps holding as modules
// add routes.
#include "support/test_env.hpp"

#include <platform/http.hpp>
#include <platform/openapi.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace bazaar;

namespace {

namespace json = boost::json;
namespace asio = boost::asio;

// "/admin/v1/events/{id:uuid}/retry" → "/admin/v1/events/{id}/retry"
std::string openapi_path(std::string_view pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '{') {
      const auto close = pattern.find('}', i);
      const auto inner = pattern.substr(i + 1, close - i - 1);
      out += "{" + std::string(inner.substr(0, inner.find(':'))) + "}";
      i = close + 1;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

std::string openapi_method(platform::http::Method m) {
  std::string s(platform::http::to_string(m));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;  // DELETE → "delete"
}

// "METHOD /path" of every route in the router that the document lacks.
std::vector<std::string> undocumented(const platform::http::Router& router, const json::value& doc) {
  std::vector<std::string> missing;
  const auto& paths = doc.at("paths").as_object();
  for (const auto& route : router.routes()) {
    const auto path = openapi_path(route->pattern);
    const auto method = openapi_method(route->method);
    const auto* item = paths.if_contains(path);
    if (!item || !item->is_object() || !item->as_object().contains(method)) {
      missing.push_back(std::string(platform::http::to_string(route->method)) + " " + path);
    }
  }
  return missing;
}

// The composed application (every module) serving, but not migrated: the document needs no database.
class ServedApp {
 public:
  explicit ServedApp(const std::function<void(app::Application&)>& before_start = {})
      : app_(app::compose(testing::test_config())) {
    if (before_start) before_start(*app_);
    app_->platform->start(1);
  }
  platform::Platform& platform() { return *app_->platform; }
  testing::HttpClient http() const { return testing::HttpClient(app_->platform->port("http")); }

 private:
  std::unique_ptr<app::Application> app_;  // its destructor stops the platform
};

json::value served_document(ServedApp& app) {
  auto r = app.http().get("/openapi.json");
  REQUIRE(r.status == 200);
  return r.json();
}

std::vector<std::string> path_parameters(const std::string& path) {
  std::vector<std::string> names;
  for (std::size_t i = path.find('{'); i != std::string::npos; i = path.find('{', i + 1)) {
    names.push_back(path.substr(i + 1, path.find('}', i) - i - 1));
  }
  return names;
}

}  // namespace

TEST_SUITE("openapi") {
  TEST_CASE("openapi: /openapi.json is an OpenAPI 3.1.0 JSON document") {
    ServedApp app;
    auto r = app.http().get("/openapi.json");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "application/json");
    json::value doc;
    REQUIRE_NOTHROW(doc = r.json());
    REQUIRE(doc.is_object());
    CHECK(doc.at("openapi") == "3.1.0");
    CHECK(doc.at("info").at("title").is_string());
    CHECK(doc.at("info").at("version").is_string());
    CHECK_FALSE(doc.at("paths").as_object().empty());
    CHECK(doc.at("components").at("schemas").as_object().contains("Problem"));
    CHECK(doc == app.platform().openapi().document());
  }

  TEST_CASE("openapi: every route in the router appears in the document under its path and method") {
    ServedApp app;
    const auto doc = served_document(app);
    const auto& routes = app.platform().router().routes();
    REQUIRE(routes.size() >= 8);  // the platform's own routes at least
    const auto missing = undocumented(app.platform().router(), doc);
    for (const auto& m : missing) FAIL_CHECK("route not in /openapi.json: " << m);
    CHECK(missing.empty());
  }

  TEST_CASE("openapi: the documented paths declare their path parameters and their responses") {
    ServedApp app;
    const auto doc = served_document(app);
    for (const auto& [path, item] : doc.at("paths").as_object()) {
      const std::string p(path);
      REQUIRE(item.is_object());
      for (const auto& [method, op] : item.as_object()) {
        if (method == "parameters" || method == "summary" || method == "description") continue;
        CAPTURE(p);
        CAPTURE(std::string(method));
        REQUIRE(op.is_object());
        CHECK(op.as_object().contains("responses"));
        // Every {name} in the path is a required "in: path" parameter of the operation or the path item.
        for (const auto& name : path_parameters(p)) {
          CAPTURE(name);
          bool declared = false;
          for (const auto* holder : {&op.as_object(), &item.as_object()}) {
            const auto* params = holder->if_contains("parameters");
            if (!params || !params->is_array()) continue;
            for (const auto& param : params->as_array()) {
              const auto* obj = param.if_object();
              if (obj && obj->contains("in") && obj->at("in") == "path" && obj->contains("name") &&
                  obj->at("name").is_string() && obj->at("name").as_string() == name) {
                declared = obj->contains("required") && obj->at("required") == true;
              }
            }
          }
          CHECK(declared);
        }
      }
    }
  }

  TEST_CASE("openapi: the route check catches a route that is not documented") {
    ServedApp app([](app::Application& a) {
      a.platform->router().del("/api/v1/undocumented/{id:uuid}", platform::http::Access::authenticated,
                               [](platform::http::Request&) -> asio::awaitable<platform::http::Reply> {
                                 co_return platform::http::no_content();
                               });
    });
    const auto missing = undocumented(app.platform().router(), served_document(app));
    CHECK(missing == std::vector<std::string>{"DELETE /api/v1/undocumented/{id}"});
  }

  TEST_CASE("openapi: fragments merge per path and method") {
    platform::OpenApi api;
    api.add_fragment(R"({"paths": {"/a/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}},
                         "components": {"schemas": {"Thing": {"type": "object"}}}})");
    api.add_fragment(R"({"paths": {"/a/{id}": {"delete": {"responses": {"204": {"description": "gone"}}}}}})");
    CHECK(api.has_operation("/a/{id}", "get"));
    CHECK(api.has_operation("/a/{id}", "delete"));
    CHECK_FALSE(api.has_operation("/a/{id}", "post"));
    CHECK_FALSE(api.has_operation("/b", "get"));
    CHECK(api.document().at("components").at("schemas").as_object().contains("Thing"));
    CHECK(api.document().at("components").at("schemas").as_object().contains("Money"));
    CHECK_THROWS(api.add_fragment("{not json"));
    CHECK(openapi_path("/x/{id:uuid}/y/{n:int}/{slug}") == "/x/{id}/y/{n}/{slug}");
  }
}
