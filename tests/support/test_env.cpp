#include "support/test_env.hpp"

#include <platform/ids.hpp>
#include <platform/security.hpp>


#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace bazaar::testing {

namespace fs = std::filesystem;

namespace {
std::string required_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    throw std::runtime_error(std::string(name) + " is not set: run the tests through scripts/test.sh, which starts "
                             "PostgreSQL and Redis and sets it");
  }
  return v;
}

fs::path make_temp_dir(const std::string& what) {
  auto dir = fs::temp_directory_path() / ("bazaar-test-" + what + "-" + platform::new_uuid_v7());
  fs::create_directories(dir);
  return dir;
}
}  // namespace

std::string database_url() { return required_env("BAZAAR_TEST_DATABASE_URL"); }
std::string redis_url() { return required_env("BAZAAR_TEST_REDIS_URL"); }

const fs::path& keys_dir() {
  static const fs::path dir = [] {
    auto d = make_temp_dir("keys");
    platform::security::KeyRing::generate_key_file(d, "test-2026-01");
    return d;
  }();
  return dir;
}

const fs::path& tls_dir() {
  static const fs::path dir = [] {
    auto d = make_temp_dir("tls");
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
                            "/CN=localhost -keyout '" + (d / "key.pem").string() + "' -out '" +
                            (d / "cert.pem").string() + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
    return d;
  }();
  return dir;
}

platform::Config test_config() {
  platform::Config c = platform::Config::load("", "", nullptr);
  c.set("database.url", boost::json::string(database_url()));
  c.set("database.pool_size", 4);
  c.set("redis.url", "");
  c.set("http.listen", "127.0.0.1:0");
  c.set("https.listen", "127.0.0.1:0");
  c.set("https.cert_file", boost::json::string((tls_dir() / "cert.pem").string()));
  c.set("https.key_file", boost::json::string((tls_dir() / "key.pem").string()));
  c.set("admin.listen", "");
  c.set("http.threads", 2);
  c.set("http.shutdown_grace_ms", 5000);
  c.set("auth.keys_dir", boost::json::string(keys_dir().string()));
  c.set("rate_limit.enabled", false);
  c.set("log.level", "warn");
  c.set("events.backoff_base_ms", 0);
  c.set("events.poll_interval_ms", 3600000);  // tests drain explicitly; the poll must not race them
  c.set("events.listen", false);
  c.set("events.dispatch_in_background", false);  // tests deliver with drain_events(), deterministically
  c.set("notifications.worker_interval_ms", 3600000);  // tests run the delivery worker themselves
  c.set("media.dir", boost::json::string(make_temp_dir("media").string()));
  c.set("notifications.email.dir", boost::json::string(make_temp_dir("mail").string()));
  return c;
}

TestApp::TestApp(platform::Config config, const std::function<void(app::Application&)>& before_start)
    : app_(app::compose(std::move(config))) {
  app_->platform->migrate();
  if (before_start) before_start(*app_);
  app_->platform->start(2);
}

TestApp::~TestApp() { app_.reset(); }

std::string TestApp::token_for(const std::string& user_id, const std::string& role) {
  return app_->platform->jwt().issue(user_id, role);
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return platform::new_uuid_v7().substr(24) + std::to_string(++counter);
}

}  // namespace bazaar::testing
