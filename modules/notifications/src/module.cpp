#include <notifications/module.hpp>

#include "delivery.hpp"
#include "retention.hpp"
#include "routes.hpp"
#include "service.hpp"
#include "settings.hpp"
#include "subscriptions.hpp"

#include <platform/log.hpp>

namespace bazaar::notifications {

namespace {

class Notifications final : public NotificationsModule {
 public:
  Notifications(platform::ModuleContext ctx, accounts::Directory& directory)
      : ctx_(std::move(ctx)),
        settings_(load_settings(ctx_.config())),
        service_(ctx_, settings_),
        worker_(ctx_, service_, settings_, directory) {
    service_.on_queued([this] { worker_.wake(); });
    register_subscriptions(ctx_.events(), service_);
    register_routes(ctx_.router(), service_);
    register_admin_routes(ctx_.router(), service_);
    ctx_.openapi().add_fragment(openapi_fragment());
    ctx_.add_personal_data("notifications",
                           [this](std::string user_id) { return service_.export_personal_data(std::move(user_id)); });
    ctx_.jobs().every("notifications-delivery", settings_.worker_interval, [this]() -> boost::asio::awaitable<void> {
      const auto report = co_await worker_.run_pass();
      if (report.sent + report.failed + report.dead > 0) {
        platform::log::debug(
            "notifications delivered",
            {{"sent", report.sent}, {"failed", report.failed}, {"dead", report.dead}, {"deferred", report.deferred}});
      }
    });
    ctx_.jobs().every("notifications-retention", settings_.retention_interval, [this]() -> boost::asio::awaitable<void> {
      const auto purged = co_await purge_expired(ctx_.db(), settings_);
      if (purged.deliveries + purged.messages > 0) {
        platform::log::info("notifications purged",
                            {{"deliveries", purged.deliveries},
                             {"messages", purged.messages},
                             {"retention_days", static_cast<long long>(settings_.retention.count())}});
      }
    });
  }
  ~Notifications() override { worker_.stop(); }

 private:
  platform::ModuleContext ctx_;
  Settings settings_;
  Service service_;
  DeliveryWorker worker_;
};

}  // namespace

std::unique_ptr<NotificationsModule> make_module(platform::ModuleContext ctx, accounts::Directory& directory) {
  return std::make_unique<Notifications>(std::move(ctx), directory);
}

}  // namespace bazaar::notifications
