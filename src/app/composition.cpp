#include "app/composition.hpp"

#include <accounts/module.hpp>
#include <cart/module.hpp>
#include <catalog/module.hpp>
#include <notifications/module.hpp>
#include <orders/module.hpp>

namespace bazaar::app {

Application::~Application() {
  if (platform) platform->stop();  // in-flight requests may still use the modules
  while (!modules.empty()) modules.pop_back();  // dependents first: they hold facades of earlier modules
}

std::unique_ptr<Application> compose(platform::Config config) {
  auto app = std::make_unique<Application>();
  app->platform = std::make_unique<platform::Platform>(std::move(config));
  auto& platform = *app->platform;

  // Modules join in dependency order, each with its own context and the facades of those it depends on.
  auto accounts = accounts::make_module(platform.context("accounts"));
  auto catalog = catalog::make_module(platform.context("catalog"));
  auto cart = cart::make_module(platform.context("cart"), catalog->queries());
  auto orders = orders::make_module(
      platform.context("orders"),
      orders::Dependencies{catalog->queries(), catalog->inventory(), cart->checkout(), accounts->directory()});
  auto notifications = notifications::make_module(platform.context("notifications"), accounts->directory());

  app->modules.push_back(std::move(accounts));
  app->modules.push_back(std::move(catalog));
  app->modules.push_back(std::move(cart));
  app->modules.push_back(std::move(orders));
  app->modules.push_back(std::move(notifications));
  return app;
}

}  // namespace bazaar::app
