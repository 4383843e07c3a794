#include "app/composition.hpp"

namespace bazaar::app {

Application::~Application() {
  if (platform) platform->stop();  // in-flight requests may still use the modules
  modules.clear();
}

std::unique_ptr<Application> compose(platform::Config config) {
  auto app = std::make_unique<Application>();
  app->platform = std::make_unique<platform::Platform>(std::move(config));
  // Modules join here in dependency order (accounts, catalog, cart, orders, notifications), each with its
  // own context and the facades of the modules it depends on.
  return app;
}

}  // namespace bazaar::app
