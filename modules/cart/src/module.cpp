#include <cart/module.hpp>

#include "routes.hpp"
#include "service.hpp"
#include "subscriptions.hpp"

#include <platform/log.hpp>
#include <platform/money.hpp>

namespace bazaar::cart {

namespace {

Settings settings_from(const platform::Config& c) {
  Settings s;
  s.currency = c.string("store.currency", "EUR");
  if (!platform::is_currency_code(s.currency)) throw platform::ConfigError("store.currency must be an ISO 4217 code");
  s.abandon_after = std::chrono::seconds(c.integer("cart.abandon_after_days", 30, 1, 3650) * 24 * 3600);
  return s;
}

class Cart final : public CartModule {
 public:
  Cart(platform::ModuleContext ctx, catalog::Queries& catalog)
      : ctx_(std::move(ctx)), service_(ctx_, catalog, settings_from(ctx_.config())) {
    register_routes(ctx_.router(), service_);
    register_subscriptions(ctx_.events(), service_);
    ctx_.openapi().add_fragment(openapi_fragment());
    const auto interval = ctx_.config().millis("cart.sweep_interval_ms", 3'600'000);
    ctx_.jobs().every("cart-abandon", interval, [this]() -> boost::asio::awaitable<void> {
      const auto n = co_await service_.abandon_stale();
      if (n > 0) platform::log::info("carts abandoned", {{"count", n}});
    });
  }
  Checkout& checkout() override { return service_; }

 private:
  platform::ModuleContext ctx_;
  Service service_;
};

}  // namespace

std::unique_ptr<CartModule> make_module(platform::ModuleContext ctx, catalog::Queries& catalog) {
  return std::make_unique<Cart>(std::move(ctx), catalog);
}

}  // namespace bazaar::cart
