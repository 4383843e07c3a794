#include <platform/openapi.hpp>

#include <stdexcept>

namespace bazaar::platform {

namespace json = boost::json;

OpenApi::OpenApi() {
  doc_ = json::object{
      {"openapi", "3.1.0"},
      {"info", json::object{{"title", "bazaar API"},
                            {"version", "1"},
                            {"description", "bazaar e-commerce backend: customer API under /api/v1, admin API under "
                                            "/admin/v1. Errors are RFC 9457 problem documents."}}},
      {"paths", json::object{}},
      {"components",
       json::object{
           {"securitySchemes", json::object{{"bearer", json::object{{"type", "http"},
                                                                     {"scheme", "bearer"},
                                                                     {"bearerFormat", "JWT"}}}}},
           {"schemas",
            json::object{
                {"Problem",
                 json::object{{"type", "object"},
                              {"required", json::array{"type", "title", "status", "code", "request_id"}},
                              {"properties",
                               json::object{{"type", {{"type", "string"}}},
                                            {"title", {{"type", "string"}}},
                                            {"status", {{"type", "integer"}}},
                                            {"detail", {{"type", "string"}}},
                                            {"code", {{"type", "string"}}},
                                            {"request_id", {{"type", "string"}}},
                                            {"errors", {{"type", "array"},
                                                        {"items", {{"type", "object"},
                                                                   {"properties", {{"field", {{"type", "string"}}},
                                                                                   {"message", {{"type", "string"}}}}}}}}}}}}},
                {"Money", json::object{{"type", "object"},
                                       {"required", json::array{"amount", "currency"}},
                                       {"properties", {{"amount", {{"type", "integer"}}},
                                                       {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}}}}}}}}}}};
}

void OpenApi::add_paths(const json::object& paths) {
  auto& mine = doc_.as_object()["paths"].as_object();
  for (const auto& [path, ops] : paths) {
    if (!ops.is_object()) throw std::invalid_argument("OpenAPI path item must be an object: " + std::string(path));
    auto& item = mine[path];
    if (!item.is_object()) item = json::object{};
    for (const auto& [method, op] : ops.get_object()) item.as_object()[method] = op;
  }
}

void OpenApi::add_schema(std::string name, json::value schema) {
  doc_.as_object()["components"].as_object()["schemas"].as_object()[name] = std::move(schema);
}

void OpenApi::add_fragment(std::string_view json_text) {
  json::value v = json::parse(json_text);  // a bad fragment is a programming error: fail at start-up
  const auto& obj = v.as_object();
  if (auto* paths = obj.if_contains("paths")) add_paths(paths->as_object());
  if (auto* components = obj.if_contains("components")) {
    if (auto* schemas = components->as_object().if_contains("schemas")) {
      for (const auto& [name, schema] : schemas->as_object()) add_schema(std::string(name), schema);
    }
  }
}

bool OpenApi::has_operation(std::string_view path, std::string_view method) const {
  const auto* item = doc_.as_object().at("paths").as_object().if_contains(path);
  return item && item->is_object() && item->as_object().contains(method);
}

}  // namespace bazaar::platform
