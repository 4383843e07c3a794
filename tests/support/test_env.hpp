#pragma once
// The environment integration tests run in: the real PostgreSQL and Redis that scripts/test.sh starts
// (BAZAAR_TEST_DATABASE_URL, BAZAAR_TEST_REDIS_URL), fresh signing keys and a self-signed certificate in a
// temporary directory, and the whole application started in-process on ephemeral loopback ports.
#include "app/composition.hpp"
#include "support/http_client.hpp"

#include <platform/config.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace bazaar::testing {

std::string database_url();  // fails the test run with a clear message when unset
std::string redis_url();
const std::filesystem::path& keys_dir();
const std::filesystem::path& tls_dir();

// Built-in defaults plus: the test database, no Redis, ephemeral loopback ports for http and https, no
// rate limits, warn-level logs, immediate event retries.
platform::Config test_config();

// The application, migrated and serving. `customize` runs before start (add routes, change config).
class TestApp {
 public:
  explicit TestApp(platform::Config config = test_config(),
                   const std::function<void(app::Application&)>& before_start = {});
  ~TestApp();
  platform::Platform& platform() { return *app_->platform; }
  app::Application& application() { return *app_; }
  HttpClient http() const { return HttpClient(platform_port("http")); }
  HttpClient https() const { return HttpClient(platform_port("https"), true); }
  std::uint16_t platform_port(std::string_view listener) const { return app_->platform->port(listener); }
  // Issues an access token for a user id and role, as the accounts module would.
  std::string token_for(const std::string& user_id, const std::string& role = "customer");

 private:
  std::unique_ptr<app::Application> app_;
};

std::string unique_suffix();  // fresh per call: for emails, SKUs, slugs, keys

}  // namespace bazaar::testing
