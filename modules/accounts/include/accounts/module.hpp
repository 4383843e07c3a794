#pragma once
#include <accounts/accounts.hpp>

#include <platform/module.hpp>

#include <memory>

namespace bazaar::accounts {

class AccountsModule : public platform::Module {
 public:
  std::string_view name() const override { return "accounts"; }
  virtual Directory& directory() = 0;
};

// Registers the accounts routes, the suspended-user check on every token, `bazaar create-admin`, and the
// profile/addresses section of the personal-data export.
std::unique_ptr<AccountsModule> make_module(platform::ModuleContext ctx);

}  // namespace bazaar::accounts
