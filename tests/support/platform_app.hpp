#pragma once
// The platform alone, migrated and serving on ephemeral loopback ports, without any module: for tests of
// the platform's HTTP edge (pipeline, limits, shutdown) that must not depend on what modules add — e.g.
// the accounts module's principal check, which refuses tokens of users it does not know. Tests of the
// composed application use TestApp instead.
#include "support/http_client.hpp"
#include "support/test_env.hpp"

#include <platform/platform.hpp>

#include <functional>
#include <memory>
#include <string>

namespace bazaar::testing {

class PlatformApp {
 public:
  explicit PlatformApp(platform::Config config = test_config(),
                       const std::function<void(platform::Platform&)>& before_start = {});
  ~PlatformApp();
  PlatformApp(const PlatformApp&) = delete;
  PlatformApp& operator=(const PlatformApp&) = delete;

  platform::Platform& platform() { return *platform_; }
  HttpClient http() const { return HttpClient(platform_port("http")); }
  HttpClient https() const { return HttpClient(platform_port("https"), true); }
  std::uint16_t platform_port(std::string_view listener) const { return platform_->port(listener); }
  // An access token for any user id and role: without modules, no principal check looks the user up.
  std::string token_for(const std::string& user_id, const std::string& role = "customer");

 private:
  std::unique_ptr<platform::Platform> platform_;
};

}  // namespace bazaar::testing
