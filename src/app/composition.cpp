#include "app/composition.hpp"

#include <accounts/module.hpp>

namespace bazaar::app {

Application::~Application() {
  if (platform) platform->stop();  // in-flight requests may still use the modules
  modules.clear();
}

std::unique_ptr<Application> compose(platform::Config config) {
  auto app = std::make_unique<Application>();
  app->platform = std::make_unique<platform::Platform>(std::move(config));
  // Modules join in dependency order, each with its own context and the facades of those it depends on.
  auto& platform = *app->platform;
  auto accounts = accounts::make_module(platform.context("accounts"));
  app->modules.push_back(std::move(accounts));
  return app;
}

}  // namespace bazaar::app
