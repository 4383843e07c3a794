#pragma once
#include <accounts/accounts.hpp>
#include <platform/module.hpp>

#include <memory>

namespace bazaar::notifications {

class NotificationsModule : public platform::Module {
 public:
  std::string_view name() const override { return "notifications"; }
};

// Email, in-app and webhook messages from the account, order and catalog events: the subscriptions, the
// delivery worker (job "notifications-delivery"), the retention purge (job "notifications-retention"), the
// inbox and admin routes, and the inbox's section of the personal-data export. `directory` resolves admins for operational notices.
std::unique_ptr<NotificationsModule> make_module(platform::ModuleContext ctx, accounts::Directory& directory);

}  // namespace bazaar::notifications
