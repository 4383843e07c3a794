#pragma once
// Events the orders module publishes. Each carries what its consumers (notifications) need — email,
// number, lines, totals, tracking — so that no consumer has to call back into orders.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::orders {

struct OrderLineInfo {
  std::string variant_id;
  std::string product_id;
  std::string sku;
  std::string title;
  int quantity = 0;
  std::int64_t unit_price = 0;
  std::int64_t line_total = 0;
};

struct OrderSummary {
  std::string order_id;
  std::string number;   // "BZR-000123"
  std::string user_id;  // "" for a guest order
  std::string email;
  std::string currency;
  std::int64_t subtotal = 0;
  std::int64_t shipping_total = 0;
  std::int64_t total = 0;
  std::vector<OrderLineInfo> lines;
  boost::json::value shipping_address;  // the Address object as in the order
  std::string status;
  std::string payment_status;
};

// The order exists (pending_payment). `awaits_external_payment`: the payment settles later (webhook), so
// this is news for the customer; otherwise OrderPaid follows within the same request.
struct OrderPlaced {
  static constexpr const char* kType = "orders.order_placed";
  static constexpr int kVersion = 1;
  OrderSummary order;
  bool awaits_external_payment = false;
};

struct OrderPaid {
  static constexpr const char* kType = "orders.order_paid";
  static constexpr int kVersion = 1;
  OrderSummary order;
};

struct OrderCancelled {
  static constexpr const char* kType = "orders.order_cancelled";
  static constexpr int kVersion = 1;
  OrderSummary order;
  std::string reason;  // payment_declined | payment_failed | payment_timeout | customer | admin
  bool refunded = false;
};

struct OrderShipped {
  static constexpr const char* kType = "orders.order_shipped";
  static constexpr int kVersion = 1;
  OrderSummary order;
  std::string carrier;
  std::string tracking_number;
};

struct OrderDelivered {
  static constexpr const char* kType = "orders.order_delivered";
  static constexpr int kVersion = 1;
  OrderSummary order;
};

struct OrderRefunded {
  static constexpr const char* kType = "orders.order_refunded";
  static constexpr int kVersion = 1;
  OrderSummary order;
  std::int64_t amount = 0;  // this refund
  std::int64_t refunded_total = 0;
  bool full = false;
  std::string reason;
};

// JSON mapping (header-only: consumers link only orders_api).
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderLineInfo& l) {
  v = {{"variant_id", l.variant_id}, {"product_id", l.product_id}, {"sku", l.sku},        {"title", l.title},
       {"quantity", l.quantity},     {"unit_price", l.unit_price}, {"line_total", l.line_total}};
}
inline OrderLineInfo tag_invoke(const boost::json::value_to_tag<OrderLineInfo>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {std::string(o.at("variant_id").as_string()), std::string(o.at("product_id").as_string()),
          std::string(o.at("sku").as_string()),        std::string(o.at("title").as_string()),
          static_cast<int>(o.at("quantity").to_number<std::int64_t>()), o.at("unit_price").to_number<std::int64_t>(),
          o.at("line_total").to_number<std::int64_t>()};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderSummary& s) {
  v = {{"order_id", s.order_id},
       {"number", s.number},
       {"user_id", s.user_id},
       {"email", s.email},
       {"currency", s.currency},
       {"subtotal", s.subtotal},
       {"shipping_total", s.shipping_total},
       {"total", s.total},
       {"lines", boost::json::value_from(s.lines)},
       {"shipping_address", s.shipping_address},
       {"status", s.status},
       {"payment_status", s.payment_status}};
}
inline OrderSummary tag_invoke(const boost::json::value_to_tag<OrderSummary>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  OrderSummary s;
  s.order_id = std::string(o.at("order_id").as_string());
  s.number = std::string(o.at("number").as_string());
  s.user_id = std::string(o.at("user_id").as_string());
  s.email = std::string(o.at("email").as_string());
  s.currency = std::string(o.at("currency").as_string());
  s.subtotal = o.at("subtotal").to_number<std::int64_t>();
  s.shipping_total = o.at("shipping_total").to_number<std::int64_t>();
  s.total = o.at("total").to_number<std::int64_t>();
  s.lines = boost::json::value_to<std::vector<OrderLineInfo>>(o.at("lines"));
  s.shipping_address = o.at("shipping_address");
  s.status = std::string(o.at("status").as_string());
  s.payment_status = std::string(o.at("payment_status").as_string());
  return s;
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderPlaced& e) {
  v = {{"order", boost::json::value_from(e.order)}, {"awaits_external_payment", e.awaits_external_payment}};
}
inline OrderPlaced tag_invoke(const boost::json::value_to_tag<OrderPlaced>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<OrderSummary>(o.at("order")), o.at("awaits_external_payment").as_bool()};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderPaid& e) {
  v = {{"order", boost::json::value_from(e.order)}};
}
inline OrderPaid tag_invoke(const boost::json::value_to_tag<OrderPaid>&, const boost::json::value& v) {
  return {boost::json::value_to<OrderSummary>(v.as_object().at("order"))};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderCancelled& e) {
  v = {{"order", boost::json::value_from(e.order)}, {"reason", e.reason}, {"refunded", e.refunded}};
}
inline OrderCancelled tag_invoke(const boost::json::value_to_tag<OrderCancelled>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<OrderSummary>(o.at("order")), std::string(o.at("reason").as_string()),
          o.at("refunded").as_bool()};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderShipped& e) {
  v = {{"order", boost::json::value_from(e.order)}, {"carrier", e.carrier}, {"tracking_number", e.tracking_number}};
}
inline OrderShipped tag_invoke(const boost::json::value_to_tag<OrderShipped>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<OrderSummary>(o.at("order")), std::string(o.at("carrier").as_string()),
          std::string(o.at("tracking_number").as_string())};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderDelivered& e) {
  v = {{"order", boost::json::value_from(e.order)}};
}
inline OrderDelivered tag_invoke(const boost::json::value_to_tag<OrderDelivered>&, const boost::json::value& v) {
  return {boost::json::value_to<OrderSummary>(v.as_object().at("order"))};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const OrderRefunded& e) {
  v = {{"order", boost::json::value_from(e.order)}, {"amount", e.amount}, {"refunded_total", e.refunded_total},
       {"full", e.full}, {"reason", e.reason}};
}
inline OrderRefunded tag_invoke(const boost::json::value_to_tag<OrderRefunded>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<OrderSummary>(o.at("order")), o.at("amount").to_number<std::int64_t>(),
          o.at("refunded_total").to_number<std::int64_t>(), o.at("full").as_bool(), std::string(o.at("reason").as_string())};
}

}  // namespace bazaar::orders
