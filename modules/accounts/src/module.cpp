#include <accounts/module.hpp>

#include "domain/validation.hpp"
#include "routes.hpp"
#include "service.hpp"

#include <cstdlib>
#include <iostream>

namespace bazaar::accounts {

namespace {

Settings settings_from(const platform::Config& c) {
  Settings s;
  s.refresh_ttl = std::chrono::seconds(c.integer("auth.refresh_ttl_seconds", 30 * 24 * 3600, 60, 365LL * 24 * 3600));
  s.status_cache_ttl = std::chrono::seconds(c.integer("accounts.status_cache_seconds", 10, 0, 900));
  s.rate_limits = c.boolean("rate_limit.enabled", true);
  s.login_per_ip_per_minute = c.integer("accounts.login_per_ip_per_minute", 30, 1, 1'000'000);
  s.login_per_email_per_15min = c.integer("accounts.login_per_email_per_15min", 10, 1, 1'000'000);
  s.register_per_ip_per_hour = c.integer("accounts.register_per_ip_per_hour", 30, 1, 1'000'000);
  s.reset_per_ip_per_hour = c.integer("accounts.password_reset_per_ip_per_hour", 20, 1, 1'000'000);
  s.reset_per_email_per_hour = c.integer("accounts.password_reset_per_email_per_hour", 3, 1, 1'000'000);
  return s;
}

// `bazaar create-admin --email E`: the password comes from BAZAAR_ADMIN_PASSWORD or stdin, never argv
// (argv is visible to every user of the machine).
int create_admin_command(Service& svc, const std::vector<std::string>& args) {
  std::string email;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--email" && i + 1 < args.size()) {
      email = args[++i];
    } else if (args[i].rfind("--email=", 0) == 0) {
      email = args[i].substr(8);
    } else {
      std::cerr << "create-admin: unknown option '" << args[i] << "'\n";
      return 2;
    }
  }
  email = domain::normalize_email(email);
  if (!domain::is_valid_email(email)) {
    std::cerr << "create-admin: --email must be a valid email address\n";
    return 2;
  }
  std::string password;
  if (const char* env = std::getenv("BAZAAR_ADMIN_PASSWORD"); env && *env) {
    password = env;
  } else {
    std::getline(std::cin, password);
  }
  if (auto problem = domain::password_problem(password)) {
    std::cerr << "create-admin: the password " << *problem << "\n";
    return 2;
  }
  std::cout << "create-admin: " << svc.create_admin_sync(email, password) << "\n";
  return 0;
}

class Accounts final : public AccountsModule {
 public:
  explicit Accounts(platform::ModuleContext ctx) : ctx_(std::move(ctx)), service_(ctx_, settings_from(ctx_.config())) {
    register_customer_routes(ctx_.router(), service_);
    register_admin_routes(ctx_.router(), service_);
    ctx_.openapi().add_fragment(openapi_fragment());
    ctx_.add_principal_check([this](const platform::http::Principal& p) { return service_.check_principal(p); });
    ctx_.add_command({"create-admin", "create-admin --email E",
                      [this](const std::vector<std::string>& args) { return create_admin_command(service_, args); }});
  }
  Directory& directory() override { return service_; }

 private:
  platform::ModuleContext ctx_;
  Service service_;
};

}  // namespace

std::unique_ptr<AccountsModule> make_module(platform::ModuleContext ctx) {
  return std::make_unique<Accounts>(std::move(ctx));
}

}  // namespace bazaar::accounts
