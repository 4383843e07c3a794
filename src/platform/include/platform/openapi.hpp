#pragma once
// The OpenAPI 3.1 document, assembled from fragments each module registers with its routes. A test checks
// that every route in the router appears here, so the document cannot silently fall behind the code.
#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace bazaar::platform {

class OpenApi {
 public:
  OpenApi();
  // `paths` as in OpenAPI: {"/api/v1/products/{id}": {"get": {...}}}; merged per path and method.
  void add_paths(const boost::json::object& paths);
  // Parses a JSON text holding {"paths": {...}, "components": {"schemas": {...}}} (modules keep theirs in
  // a raw string next to their routes).
  void add_fragment(std::string_view json_text);
  void add_schema(std::string name, boost::json::value schema);
  const boost::json::value& document() const { return doc_; }
  std::string serialized() const { return boost::json::serialize(doc_); }
  bool has_operation(std::string_view path, std::string_view method) const;

 private:
  boost::json::value doc_;
};

}  // namespace bazaar::platform
