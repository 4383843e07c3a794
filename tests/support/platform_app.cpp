#include "support/platform_app.hpp"

namespace bazaar::testing {

PlatformApp::PlatformApp(platform::Config config, const std::function<void(platform::Platform&)>& before_start)
    : platform_(std::make_unique<platform::Platform>(std::move(config))) {
  platform_->migrate();
  if (before_start) before_start(*platform_);
  platform_->start(2);
}

PlatformApp::~PlatformApp() {
  platform_->stop();
  platform_.reset();
}

std::string PlatformApp::token_for(const std::string& user_id, const std::string& role) {
  return platform_->jwt().issue(user_id, role);
}

}  // namespace bazaar::testing
