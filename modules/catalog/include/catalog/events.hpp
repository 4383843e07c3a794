#pragma once
// Events the catalog publishes through the outbox.
#include <boost/json.hpp>

#include <string>

namespace bazaar::catalog {

struct ProductPublished {
  static constexpr const char* kType = "catalog.product_published";
  static constexpr int kVersion = 1;
  std::string product_id;
  std::string slug;
  std::string title;
};

struct ProductUpdated {
  static constexpr const char* kType = "catalog.product_updated";
  static constexpr int kVersion = 1;
  std::string product_id;
  std::string slug;
  std::string status;
};

struct ProductArchived {
  static constexpr const char* kType = "catalog.product_archived";
  static constexpr int kVersion = 1;
  std::string product_id;
  std::string slug;
};

// Available stock of a variant fell to or below the configured threshold.
struct StockLow {
  static constexpr const char* kType = "catalog.stock_low";
  static constexpr int kVersion = 1;
  std::string variant_id;
  std::string product_id;
  std::string sku;
  std::string title;
  int available = 0;
  int threshold = 0;
};

inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const ProductPublished& e) {
  v = {{"product_id", e.product_id}, {"slug", e.slug}, {"title", e.title}};
}
inline ProductPublished tag_invoke(const boost::json::value_to_tag<ProductPublished>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {std::string(o.at("product_id").as_string()), std::string(o.at("slug").as_string()),
          std::string(o.at("title").as_string())};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const ProductUpdated& e) {
  v = {{"product_id", e.product_id}, {"slug", e.slug}, {"status", e.status}};
}
inline ProductUpdated tag_invoke(const boost::json::value_to_tag<ProductUpdated>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {std::string(o.at("product_id").as_string()), std::string(o.at("slug").as_string()),
          std::string(o.at("status").as_string())};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const ProductArchived& e) {
  v = {{"product_id", e.product_id}, {"slug", e.slug}};
}
inline ProductArchived tag_invoke(const boost::json::value_to_tag<ProductArchived>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {std::string(o.at("product_id").as_string()), std::string(o.at("slug").as_string())};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const StockLow& e) {
  v = {{"variant_id", e.variant_id}, {"product_id", e.product_id}, {"sku", e.sku},
       {"title", e.title},           {"available", e.available},   {"threshold", e.threshold}};
}
inline StockLow tag_invoke(const boost::json::value_to_tag<StockLow>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {std::string(o.at("variant_id").as_string()), std::string(o.at("product_id").as_string()),
          std::string(o.at("sku").as_string()),        std::string(o.at("title").as_string()),
          static_cast<int>(o.at("available").as_int64()), static_cast<int>(o.at("threshold").as_int64())};
}

}  // namespace bazaar::catalog
