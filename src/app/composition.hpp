#pragma once
// The composition root: the one place that sees every module, creates them in dependency order and wires
// their facades together. Used by `bazaar` itself and by the integration tests.
#include <platform/platform.hpp>

#include <memory>
#include <vector>

namespace bazaar::app {

struct Application {
  std::unique_ptr<platform::Platform> platform;
  std::vector<std::unique_ptr<platform::Module>> modules;  // destroyed before the platform
  ~Application();
};

std::unique_ptr<Application> compose(platform::Config config);

}  // namespace bazaar::app
