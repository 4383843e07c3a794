#include <orders/module.hpp>

#include "payments/seam.hpp"
#include "payments/test_provider.hpp"
#include "routes.hpp"
#include "service.hpp"
#include "subscriptions.hpp"

#include <platform/log.hpp>
#include <platform/money.hpp>

namespace bazaar::orders {

namespace {

std::vector<ShippingOption> shipping_options_from(const platform::Config& c) {
  std::vector<ShippingOption> out;
  const auto* list = c.find("orders.shipping_options");
  if (!list || !list->is_array() || list->as_array().empty()) {
    throw platform::ConfigError("orders.shipping_options must be a non-empty list of {id, name, price}");
  }
  for (const auto& item : list->as_array()) {
    const auto* o = item.if_object();
    const auto* id = o ? o->if_contains("id") : nullptr;
    const auto* name = o ? o->if_contains("name") : nullptr;
    const auto* price = o ? o->if_contains("price") : nullptr;
    if (!id || !id->is_string() || !name || !name->is_string() || !price || !price->is_int64() || price->as_int64() < 0) {
      throw platform::ConfigError("orders.shipping_options: each option needs a string id and name and a price "
                                  "(integer minor units, >= 0)");
    }
    out.push_back({std::string(id->as_string()), std::string(name->as_string()), price->as_int64()});
  }
  return out;
}

Settings settings_from(const platform::Config& c) {
  Settings s;
  s.currency = c.string("store.currency", "EUR");
  s.shipping_options = shipping_options_from(c);
  s.reservation_ttl = std::chrono::seconds(c.integer("orders.reservation_ttl_seconds", 900, 30, 86400));
  s.pending_payment_timeout = std::chrono::seconds(c.integer("orders.pending_payment_timeout_seconds", 1800, 60, 7 * 86400));
  s.give_back_retry = std::chrono::seconds(c.integer("orders.give_back_retry_seconds", 300, 1, 86400));
  const std::string capture = c.string("payments.capture", "immediate");
  if (capture != "immediate" && capture != "on_ship") {
    throw platform::ConfigError("payments.capture must be \"immediate\" or \"on_ship\"");
  }
  s.capture_on_ship = capture == "on_ship";
  return s;
}

class Orders final : public OrdersModule, public payments::Seam {
 public:
  Orders(platform::ModuleContext ctx, Dependencies deps)
      : ctx_(std::move(ctx)),
        service_(ctx_, deps, settings_from(ctx_.config()),
                 std::make_unique<payments::TestProvider>(
                     ctx_.db(), ctx_.config().required_string("payments.webhook_secret"),
                     std::chrono::seconds(ctx_.config().integer("payments.webhook_tolerance_seconds", 300, 1, 3600)))) {
    register_customer_routes(ctx_.router(), service_);
    register_admin_routes(ctx_.router(), service_);
    register_subscriptions(ctx_.events(), service_);
    ctx_.openapi().add_fragment(openapi_fragment());
    ctx_.add_personal_data("orders", [this](std::string user_id) { return service_.export_user(std::move(user_id)); });
    const auto interval = ctx_.config().millis("orders.reconcile_interval_ms", 60'000);
    ctx_.jobs().every("orders-reconcile", interval, [this]() -> boost::asio::awaitable<void> {
      const int n = co_await service_.reconcile();
      if (n > 0) platform::log::info("orders reconciled", {{"count", n}});
    });
  }

  void decorate_provider(const payments::Decorator& decorate) override { service_.decorate_provider(decorate); }

 private:
  platform::ModuleContext ctx_;
  Service service_;
};

}  // namespace

std::unique_ptr<OrdersModule> make_module(platform::ModuleContext ctx, Dependencies deps) {
  return std::make_unique<Orders>(std::move(ctx), deps);
}

}  // namespace bazaar::orders
