#pragma once
// What the composition root hands a module: its own view of the platform's services. A module registers
// its routes, OpenAPI fragment, event subscriptions and background jobs through this, and nothing else.
#include <platform/cache.hpp>
#include <platform/config.hpp>
#include <platform/db.hpp>
#include <platform/events.hpp>
#include <platform/http.hpp>
#include <platform/jobs.hpp>
#include <platform/metrics.hpp>
#include <platform/openapi.hpp>
#include <platform/security.hpp>

#include <string>
#include <string_view>

namespace bazaar::platform {

class Platform;

// A command-line verb a module contributes (`bazaar seed-demo`, `bazaar create-admin`). Runs after
// migrations, outside the server; returns the process exit code.
struct Command {
  std::string name;
  std::string usage;  // "create-admin --email E"
  std::function<int(const std::vector<std::string>& args)> run;
};

// Rejects a principal whose token is still valid but who may no longer act (e.g. a suspended user).
using PrincipalCheck = std::function<boost::asio::awaitable<Result<void>>(const http::Principal&)>;

// What a module holds about one user, for the self-service data export (GET /api/v1/me/export). Each
// module contributes its own section, so the exporting module never reaches into another's data.
using PersonalDataExporter = std::function<boost::asio::awaitable<boost::json::value>(std::string user_id)>;

class ModuleContext {
 public:
  ModuleContext(Platform& platform, std::string name) : platform_(platform), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const Config& config() const;
  Database& db();
  http::Router& router();
  EventBus& events();
  Jobs& jobs();
  Metrics& metrics();
  RateLimiter& rate_limiter();
  OpenApi& openapi();
  const security::JwtService& jwt();
  // Argon2id on its own small CPU pool (bounded queue → 503), so logins never starve the I/O threads.
  boost::asio::awaitable<std::string> hash_password(std::string password);
  boost::asio::awaitable<security::PasswordCheck> verify_password(std::string password, std::string phc);
  void add_principal_check(PrincipalCheck check);
  void add_command(Command command);
  void add_personal_data(std::string section, PersonalDataExporter exporter);
  // {"<section>": ..., ...} from every module that registered an exporter.
  boost::asio::awaitable<boost::json::object> export_personal_data(std::string user_id);

 private:
  Platform& platform_;
  std::string name_;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
};

}  // namespace bazaar::platform
