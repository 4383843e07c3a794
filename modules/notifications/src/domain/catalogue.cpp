#include "domain/catalogue.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>

namespace bazaar::notifications::domain {

namespace json = boost::json;

namespace {

constexpr std::array<TemplateSpec, 10> kSpecs = {{
    {"verify_email", "accounts.email_verification_requested: welcome and the email verification link", true, false},
    {"password_reset", "accounts.password_reset_requested: the password reset link", true, false},
    {"welcome", "accounts.user_registered: welcome message in the inbox", false, true},
    {"order_received", "orders.order_placed when the payment settles later: order received, awaiting payment", true,
     true},
    {"order_confirmed", "orders.order_paid: order confirmation", true, true},
    {"order_shipped", "orders.order_shipped: shipped, with the tracking number", true, true},
    {"order_delivered", "orders.order_delivered", true, true},
    {"order_cancelled", "orders.order_cancelled (not for a card declined at checkout)", true, true},
    {"order_refunded", "orders.order_refunded", true, true},
    {"stock_low", "catalog.stock_low: to every active admin", true, true},
}};

json::object sample_order() {
  const std::string currency = "EUR";
  json::array lines;
  lines.push_back(json::object{{"title", "Linen shirt — M"},
                               {"sku", "SHIRT-LIN-M"},
                               {"quantity", 2},
                               {"unit_price", money(3990, currency)},
                               {"line_total", money(7980, currency)}});
  lines.push_back(json::object{{"title", "Canvas tote"},
                               {"sku", "TOTE-01"},
                               {"quantity", 1},
                               {"unit_price", money(1500, currency)},
                               {"line_total", money(1500, currency)}});
  return {{"id", "0190c0de-0000-7000-8000-000000000001"},
          {"number", "BZR-001042"},
          {"email", "ada@example.com"},
          {"status", "paid"},
          {"payment_status", "captured"},
          {"currency", currency},
          {"subtotal", money(9480, currency)},
          {"shipping_total", money(495, currency)},
          {"total", money(9975, currency)},
          {"item_count", 3},
          {"lines", std::move(lines)},
          {"shipping_address", json::object{{"first_name", "Ada"},
                                            {"last_name", "Lovelace"},
                                            {"line1", "12 St James's Square"},
                                            {"line2", nullptr},
                                            {"city", "London"},
                                            {"postal_code", "SW1Y 4JH"},
                                            {"region", nullptr},
                                            {"country", "GB"}}}};
}

}  // namespace

std::span<const TemplateSpec> template_specs() { return kSpecs; }

const TemplateSpec* find_template_spec(std::string_view name) {
  const auto it = std::find_if(kSpecs.begin(), kSpecs.end(), [&](const TemplateSpec& s) { return s.name == name; });
  return it == kSpecs.end() ? nullptr : &*it;
}

json::object money(std::int64_t minor_units, std::string_view currency) {
  return {{"amount", minor_units}, {"currency", currency}};
}

std::string cancellation_explanation(std::string_view reason) {
  if (reason == "customer") return "You cancelled the order.";
  if (reason == "admin") return "Our team cancelled the order.";
  if (reason == "payment_failed") return "The payment did not go through.";
  if (reason == "payment_timeout") return "We did not receive the payment in time.";
  if (reason == "payment_declined") return "The card was declined.";
  return "The order was cancelled.";
}

json::object base_context(const Store& store, std::string_view recipient_name, std::string_view recipient_email) {
  return {{"store", json::object{{"name", store.name}, {"url", store.url}}},
          {"recipient", json::object{{"name", recipient_name}, {"email", recipient_email}}}};
}

json::object sample_context(std::string_view name, const Store& store) {
  if (!find_template_spec(name)) return {};
  json::object ctx = base_context(store, "Ada Lovelace", "ada@example.com");
  if (name == "verify_email" || name == "password_reset") {
    const std::string path = name == "verify_email" ? "/verify-email" : "/reset-password";
    ctx["user"] = json::object{{"first_name", "Ada"}, {"email", "ada@example.com"}};
    ctx["link"] = store.url + path + "?token=sample-token";
    ctx["expires_at"] = "2026-11-22T10:00:00.000Z";
  } else if (name == "welcome") {
    ctx["user"] = json::object{{"first_name", "Ada"}, {"last_name", "Lovelace"}, {"email", "ada@example.com"}};
  } else if (name == "stock_low") {
    ctx["recipient"].as_object()["name"] = "Grace Hopper";
    ctx["variant"] = json::object{{"variant_id", "0190c0de-0000-7000-8000-0000000000aa"},
                                  {"product_id", "0190c0de-0000-7000-8000-0000000000bb"},
                                  {"sku", "SHIRT-LIN-M"},
                                  {"title", "Linen shirt — M"},
                                  {"available", 2},
                                  {"threshold", 5}};
  } else {  // order_*
    ctx["order"] = sample_order();
    ctx["customer"] = json::object{{"first_name", "Ada"}};
    if (name == "order_shipped") {
      ctx["shipment"] = json::object{{"carrier", "DHL"}, {"tracking_number", "JD014600006281230704"}};
    } else if (name == "order_cancelled") {
      ctx["cancellation"] = json::object{
          {"reason", "customer"}, {"explanation", cancellation_explanation("customer")}, {"refunded", true}};
    } else if (name == "order_refunded") {
      ctx["refund"] = json::object{{"amount", money(1500, "EUR")},
                                   {"refunded_total", money(1500, "EUR")},
                                   {"full", false},
                                   {"reason", "damaged in transit"}};
    }
  }
  return ctx;
}

}  // namespace bazaar::notifications::domain
