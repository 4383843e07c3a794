#pragma once
// What the module can say: one template per business moment, the channels it goes out on, and a sample
// context of exactly the shape the subscriptions build, against which an edited template is test-rendered
// before it is saved. Pure data, no I/O.
#include <boost/json/object.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bazaar::notifications::domain {

struct Store {
  std::string name;  // "bazaar"
  std::string url;   // store.public_url without a trailing slash
};

struct TemplateSpec {
  std::string_view name;
  std::string_view trigger;  // what sends it, for the admin API
  bool email = false;
  bool in_app = false;
};

std::span<const TemplateSpec> template_specs();
const TemplateSpec* find_template_spec(std::string_view name);

// Channels a template may have. Webhooks carry the event itself and have no template.
inline constexpr std::string_view kEmail = "email";
inline constexpr std::string_view kInApp = "in_app";
inline constexpr std::string_view kWebhook = "webhook";

boost::json::object money(std::int64_t minor_units, std::string_view currency);
// The customer-facing sentence for an orders.order_cancelled reason.
std::string cancellation_explanation(std::string_view reason);

// {"store": {...}, "recipient": {...}}: what every context starts with.
boost::json::object base_context(const Store& store, std::string_view recipient_name, std::string_view recipient_email);

// A realistic context for `template_name` (empty object for an unknown name).
boost::json::object sample_context(std::string_view template_name, const Store& store);

}  // namespace bazaar::notifications::domain
