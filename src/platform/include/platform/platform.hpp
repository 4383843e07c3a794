#pragma once
// The platform as the composition root sees it: built from configuration, hands each module its
// ModuleContext, migrates, serves, and shuts down gracefully.
#include <platform/module.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bazaar::platform {

class Platform {
 public:
  explicit Platform(Config config);
  ~Platform();
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  // The module's view; also records the module's schema for migrations (in call order, after "platform").
  ModuleContext context(std::string module_name);

  // Applies pending migrations of the platform and every module that asked for a context.
  void migrate();
  // Binds the listeners and starts the dispatcher and jobs on `threads` background I/O threads
  // (0 = http.threads from config). Returns once the server accepts connections.
  void start(std::size_t threads = 0);
  // Blocks until SIGINT/SIGTERM, then shuts down gracefully.
  int serve_until_signal();
  // Graceful shutdown: stop accepting, finish in-flight requests within http.shutdown_grace_ms, flush the
  // dispatcher, close the pools. Idempotent.
  void stop();

  // Bound port of "http", "https" or "admin" (after start), 0 if that listener is disabled.
  std::uint16_t port(std::string_view listener) const;
  // Delivers every due event now, repeatedly, until none is left (tests use this instead of sleeping).
  std::size_t drain_events();
  // Runs an awaitable to completion on the platform's I/O threads (tests, command line).
  void run_on_io(std::function<boost::asio::awaitable<void>()> fn);

  const Config& config() const;
  Database& db();
  http::Router& router();
  EventBus& events();
  Jobs& jobs();
  Metrics& metrics();
  RateLimiter& rate_limiter();
  OpenApi& openapi();
  const security::JwtService& jwt();
  WorkerPool& hashing_pool();
  const security::PasswordHasher& password_hasher() const;
  void add_principal_check(PrincipalCheck check);
  void add_command(Command command);
  const std::vector<Command>& commands() const;
  void add_personal_data(std::string section, PersonalDataExporter exporter);
  boost::asio::awaitable<boost::json::object> export_personal_data(std::string user_id);
  const std::vector<std::string>& schemas() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bazaar::platform
