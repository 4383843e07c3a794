#pragma once
// Catalog use cases. Customer reads return ready response bodies, from the response cache when enabled;
// admin writes run in one transaction each with their audit entry and events, and invalidate the cache
// after commit so that the very next read sees them.
#include "domain/image.hpp"
#include "domain/listing.hpp"
#include "json_mapping.hpp"
#include "load_coalescer.hpp"
#include "media_storage.hpp"
#include "repository.hpp"

#include <platform/module.hpp>
#include <platform/response_cache.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace bazaar::catalog {

using platform::Result;
namespace asio = boost::asio;

struct Settings {
  std::string store_currency = "EUR";
  int low_stock_threshold = 5;
  bool cache_enabled = true;
  std::chrono::milliseconds cache_ttl{2000};
  std::size_t cache_max_bytes = 64u << 20;
  std::chrono::milliseconds sweep_interval{30000};
  int sweep_batch = 500;
  std::string media_dir = ".local/media";
};

Settings settings_from(const platform::Config& config);

class Service {
 public:
  using Body = platform::ResponseCache::Body;

  Service(platform::ModuleContext& ctx, const Settings& settings, platform::ResponseCache& cache, MediaStorage& media,
          platform::WorkerPool& media_pool);

  // ---- customer reads: published products only, no stock counts
  asio::awaitable<Body> product(std::string ref);  // nullptr: no such published product
  asio::awaitable<Body> products(domain::ListQuery query);
  asio::awaitable<Body> categories();

  // ---- admin reads
  asio::awaitable<Result<std::string>> admin_product(std::string id);
  asio::awaitable<std::string> admin_products(domain::AdminListQuery query);
  asio::awaitable<std::string> low_stock(domain::LowStockQuery query);

  // ---- admin writes (each: one transaction with its audit entry and events, then cache invalidation)
  using Rq = platform::http::Request;
  asio::awaitable<Result<std::string>> create_product(const Rq& rq, ProductInput in);
  asio::awaitable<Result<std::string>> update_product(const Rq& rq, std::string id, ProductInput patch);
  asio::awaitable<Result<void>> archive_product(const Rq& rq, std::string id);
  asio::awaitable<Result<std::string>> create_variant(const Rq& rq, std::string product_id, VariantInput in);
  asio::awaitable<Result<std::string>> update_variant(const Rq& rq, std::string product_id, std::string variant_id,
                                                      VariantInput patch);
  asio::awaitable<Result<void>> delete_variant(const Rq& rq, std::string product_id, std::string variant_id);
  asio::awaitable<Result<std::string>> set_stock(const Rq& rq, std::string variant_id, int on_hand);
  // The image bytes are the request body (already checked to be of `type`).
  asio::awaitable<Result<std::string>> add_image(const Rq& rq, std::string product_id, domain::ImageType type,
                                                 std::string alt, std::optional<int> position);
  asio::awaitable<Result<void>> delete_image(const Rq& rq, std::string product_id, std::string image_id);
  asio::awaitable<Result<std::string>> create_category(const Rq& rq, CategoryInput in);
  asio::awaitable<Result<std::string>> update_category(const Rq& rq, std::string id, CategoryInput patch);
  asio::awaitable<Result<void>> delete_category(const Rq& rq, std::string id);

  // ---- media
  struct MediaFile {
    std::string bytes;
    std::string etag;  // strong: "<sha256 of the bytes>"
    std::string content_type;
  };
  asio::awaitable<std::optional<MediaFile>> media(std::string key);

  const Settings& settings() const { return settings_; }

 private:
  // Reads through the cache: `load()` (an awaitable<std::optional<std::string>>) runs on a miss (once for
  // all concurrent misses of the key), to refresh an expired entry, or every time with the cache off; its
  // result is cached unless it is null (not found).
  template <class Load>
  asio::awaitable<Body> cached(std::string key, Load load);
  // Reloads an expired entry in the background (cached() has already served the previous body).
  template <class Load>
  asio::awaitable<void> refresh(std::string key, Load load);
  void invalidate_after_commit(platform::Tx& tx);

  platform::ModuleContext& ctx_;
  Settings settings_;
  platform::ResponseCache& cache_;
  MediaStorage& media_;
  platform::WorkerPool& media_pool_;
  LoadCoalescer loads_;
};

}  // namespace bazaar::catalog
