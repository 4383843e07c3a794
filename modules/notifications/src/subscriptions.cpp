// Reactions to other modules' events: decode the contract, build the render context, compose.
#include "subscriptions.hpp"

#include "domain/catalogue.hpp"
#include "subscriptions_context.hpp"

#include <accounts/events.hpp>
#include <catalog/events.hpp>
#include <orders/events.hpp>

#include <set>

namespace bazaar::notifications {

namespace json = boost::json;
using platform::Event;
using platform::Tx;

namespace {

// Stable inbox keys: never rename them (a new name would see every retained event as new).
constexpr const char* kMessages = "notifications.messages";
constexpr const char* kErasure = "notifications.user_deleted";
constexpr const char* kWebhooks = "notifications.webhooks";

json::value field_or_null(const json::value& address, std::string_view key) {
  if (const auto* o = address.if_object()) {
    if (const auto* v = o->if_contains(key); v && v->is_string()) return *v;
  }
  return nullptr;
}

std::string text_field(const json::value& address, std::string_view key) {
  auto v = field_or_null(address, key);
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

Trigger trigger_of(const Event& e) { return {e.id, e.type}; }

Recipient customer_of(const orders::OrderSummary& order) {
  Recipient r;
  if (!order.user_id.empty()) r.user_id = order.user_id;
  r.email = order.email;
  const auto first = text_field(order.shipping_address, "first_name");
  const auto last = text_field(order.shipping_address, "last_name");
  r.name = first.empty() ? last : (last.empty() ? first : first + " " + last);
  return r;
}

void order_message(Service& svc, Tx& tx, const Event& e, const std::string& template_name,
                   const orders::OrderSummary& order, json::object extra = {}) {
  auto ctx = order_context(order);
  for (auto& [k, v] : extra) ctx[k] = std::move(v);
  svc.compose(tx, trigger_of(e), template_name, customer_of(order), std::move(ctx), {true, true});
}

}  // namespace

json::object order_context(const orders::OrderSummary& o) {
  json::array lines;
  int items = 0;
  for (const auto& l : o.lines) {
    items += l.quantity;
    lines.push_back(json::object{{"title", l.title},
                                 {"sku", l.sku},
                                 {"quantity", l.quantity},
                                 {"unit_price", domain::money(l.unit_price, o.currency)},
                                 {"line_total", domain::money(l.line_total, o.currency)}});
  }
  const auto& a = o.shipping_address;
  json::object address{{"first_name", field_or_null(a, "first_name")},
                       {"last_name", field_or_null(a, "last_name")},
                       {"line1", field_or_null(a, "line1")},
                       {"line2", field_or_null(a, "line2")},
                       {"city", field_or_null(a, "city")},
                       {"postal_code", field_or_null(a, "postal_code")},
                       {"region", field_or_null(a, "region")},
                       {"country", field_or_null(a, "country")}};
  json::object order{{"id", o.order_id},
                     {"number", o.number},
                     {"email", o.email},
                     {"status", o.status},
                     {"payment_status", o.payment_status},
                     {"currency", o.currency},
                     {"subtotal", domain::money(o.subtotal, o.currency)},
                     {"shipping_total", domain::money(o.shipping_total, o.currency)},
                     {"total", domain::money(o.total, o.currency)},
                     {"item_count", items},
                     {"lines", std::move(lines)},
                     {"shipping_address", std::move(address)}};
  return {{"order", std::move(order)}, {"customer", json::object{{"first_name", text_field(a, "first_name")}}}};
}

void register_subscriptions(platform::EventBus& bus, Service& svc) {
  Service* s = &svc;

  // Accounts. Registration is one moment: the welcome rides in the verification email, and the inbox
  // gets its own welcome note.
  bus.subscribe(kMessages, accounts::UserRegistered::kType, [s](Tx& tx, const Event& e) {
    const auto u = json::value_to<accounts::UserRegistered>(e.payload);
    s->compose(tx, trigger_of(e), "welcome", {u.user_id, u.email, u.first_name + " " + u.last_name},
               {{"user", json::object{{"first_name", u.first_name}, {"last_name", u.last_name}, {"email", u.email}}}},
               {false, true});
  });
  bus.subscribe(kMessages, accounts::EmailVerificationRequested::kType, [s](Tx& tx, const Event& e) {
    const auto v = json::value_to<accounts::EmailVerificationRequested>(e.payload);
    s->compose(tx, trigger_of(e), "verify_email", {v.user_id, v.email, v.first_name},
               {{"user", json::object{{"first_name", v.first_name}, {"email", v.email}}},
                {"link", s->settings().store.url + "/verify-email?token=" + v.token},
                {"expires_at", v.expires_at}},
               {true, false});
  });
  bus.subscribe(kMessages, accounts::PasswordResetRequested::kType, [s](Tx& tx, const Event& e) {
    const auto r = json::value_to<accounts::PasswordResetRequested>(e.payload);
    s->compose(tx, trigger_of(e), "password_reset", {r.user_id, r.email, r.first_name},
               {{"user", json::object{{"first_name", r.first_name}, {"email", r.email}}},
                {"link", s->settings().store.url + "/reset-password?token=" + r.token},
                {"expires_at", r.expires_at}},
               {true, false});
  });
  bus.subscribe(kErasure, accounts::UserDeleted::kType, [s](Tx& tx, const Event& e) {
    s->erase_user(tx, json::value_to<accounts::UserDeleted>(e.payload).user_id);
  });

  // Orders: one message per business moment. A card payment settles within the checkout request, so
  // "placed" is news only when the payment settles later; otherwise "paid" is the confirmation. A card
  // declined at checkout was shown to the customer there and needs no email.
  bus.subscribe(kMessages, orders::OrderPlaced::kType, [s](Tx& tx, const Event& e) {
    const auto placed = json::value_to<orders::OrderPlaced>(e.payload);
    if (placed.awaits_external_payment) order_message(*s, tx, e, "order_received", placed.order);
  });
  bus.subscribe(kMessages, orders::OrderPaid::kType, [s](Tx& tx, const Event& e) {
    order_message(*s, tx, e, "order_confirmed", json::value_to<orders::OrderPaid>(e.payload).order);
  });
  bus.subscribe(kMessages, orders::OrderCancelled::kType, [s](Tx& tx, const Event& e) {
    const auto c = json::value_to<orders::OrderCancelled>(e.payload);
    if (c.reason == "payment_declined") return;
    order_message(*s, tx, e, "order_cancelled", c.order,
                  {{"cancellation", json::object{{"reason", c.reason},
                                                 {"explanation", domain::cancellation_explanation(c.reason)},
                                                 {"refunded", c.refunded}}}});
  });
  bus.subscribe(kMessages, orders::OrderShipped::kType, [s](Tx& tx, const Event& e) {
    const auto shipped = json::value_to<orders::OrderShipped>(e.payload);
    order_message(
        *s, tx, e, "order_shipped", shipped.order,
        {{"shipment", json::object{{"carrier", shipped.carrier}, {"tracking_number", shipped.tracking_number}}}});
  });
  bus.subscribe(kMessages, orders::OrderDelivered::kType, [s](Tx& tx, const Event& e) {
    order_message(*s, tx, e, "order_delivered", json::value_to<orders::OrderDelivered>(e.payload).order);
  });
  bus.subscribe(kMessages, orders::OrderRefunded::kType, [s](Tx& tx, const Event& e) {
    const auto r = json::value_to<orders::OrderRefunded>(e.payload);
    order_message(*s, tx, e, "order_refunded", r.order,
                  {{"refund", json::object{{"amount", domain::money(r.amount, r.order.currency)},
                                           {"refunded_total", domain::money(r.refunded_total, r.order.currency)},
                                           {"full", r.full},
                                           {"reason", r.reason}}}});
  });

  // Catalog: low stock goes to every active admin, resolved by the delivery worker (the accounts
  // directory is asynchronous and this handler runs inside the event's transaction).
  bus.subscribe(kMessages, catalog::StockLow::kType, [s](Tx& tx, const Event& e) {
    const auto low = json::value_to<catalog::StockLow>(e.payload);
    s->compose_for_admins(tx, trigger_of(e), "stock_low",
                          {{"variant", json::object{{"variant_id", low.variant_id},
                                                    {"product_id", low.product_id},
                                                    {"sku", low.sku},
                                                    {"title", low.title},
                                                    {"available", low.available},
                                                    {"threshold", low.threshold}}}});
  });

  // Webhooks: the event itself, to each endpoint configured for its type (any event type, not only these).
  std::set<std::string> types;
  for (const auto& endpoint : svc.settings().webhooks) types.insert(endpoint.events.begin(), endpoint.events.end());
  for (const auto& type : types) {
    bus.subscribe(kWebhooks, type, [s](Tx& tx, const Event& e) { s->enqueue_webhooks(tx, e); });
  }
}

}  // namespace bazaar::notifications
