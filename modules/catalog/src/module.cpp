#include <catalog/module.hpp>

#include "inventory.hpp"
#include "media_storage.hpp"
#include "routes.hpp"
#include "seed.hpp"
#include "service.hpp"

#include <platform/log.hpp>
#include <platform/response_cache.hpp>

namespace bazaar::catalog {

namespace {

platform::ResponseCacheOptions cache_options(const Settings& s) {
  platform::ResponseCacheOptions o;
  o.name = "catalog";
  o.ttl = s.cache_ttl;
  o.max_bytes = s.cache_max_bytes;
  return o;
}

class Catalog final : public CatalogModule {
 public:
  explicit Catalog(platform::ModuleContext ctx)
      : ctx_(std::move(ctx)),
        settings_(settings_from(ctx_.config())),
        cache_(cache_options(settings_)),
        media_pool_(platform::WorkerPoolOptions{"media", 2, 256, std::chrono::milliseconds(5000)}),
        media_storage_(settings_.media_dir),
        service_(ctx_, settings_, cache_, media_storage_, media_pool_),
        inventory_(ctx_.db(), settings_.low_stock_threshold),
        queries_(ctx_.db()) {
    register_customer_routes(ctx_.router(), service_);
    register_admin_routes(ctx_.router(), service_);
    ctx_.openapi().add_fragment(openapi_fragment());
    cache_.register_metrics(ctx_.metrics());
    // Other instances learn about our writes (and we about theirs) through Redis, when there is one.
    if (const auto redis = ctx_.config().string("redis.url", ""); !redis.empty() && settings_.cache_enabled) {
      cache_.connect_redis(redis, "bazaar:cache-invalidation:catalog");
    }
    ctx_.jobs().every("catalog-reservation-sweeper", settings_.sweep_interval, [this]() -> boost::asio::awaitable<void> {
      const int released = co_await inventory_.sweep_expired(settings_.sweep_batch);
      if (released > 0) platform::log::info("released expired reservations", {{"count", released}});
    });
    ctx_.add_command({"seed-demo", "seed-demo [--products N]", [this](const std::vector<std::string>& args) {
                        return seed::run(ctx_.db(), settings_.store_currency, args);
                      }});
  }

  ~Catalog() override {
    cache_.stop();
    media_pool_.stop();
  }

  Queries& queries() override { return queries_; }
  Inventory& inventory() override { return inventory_; }

 private:
  platform::ModuleContext ctx_;
  Settings settings_;
  platform::ResponseCache cache_;
  platform::WorkerPool media_pool_;
  LocalMediaStorage media_storage_;
  Service service_;
  InventoryService inventory_;
  QueriesService queries_;
};

}  // namespace

std::unique_ptr<CatalogModule> make_module(platform::ModuleContext ctx) { return std::make_unique<Catalog>(std::move(ctx)); }

}  // namespace bazaar::catalog
