#pragma once
// The catalog's facades for other modules: stock reservations for orders (catalog::Inventory) and current
// price/availability look-ups for the cart (catalog::Queries). Never cached: always the database's truth.
#include <catalog/inventory.hpp>
#include <catalog/queries.hpp>

#include <platform/db.hpp>

namespace bazaar::catalog {

class InventoryService final : public Inventory {
 public:
  InventoryService(platform::Database& db, int low_stock_threshold) : db_(db), threshold_(low_stock_threshold) {}

  // Throws std::invalid_argument for an order id that is not a UUID or lines without a positive quantity
  // (callers' bugs); variant ids that do not exist come back as shortages with nothing available.
  boost::asio::awaitable<ReserveOutcome> reserve(std::string order_id, std::vector<StockLine> lines,
                                                 std::chrono::seconds ttl) override;
  boost::asio::awaitable<void> confirm(std::string order_id) override;
  boost::asio::awaitable<void> release(std::string order_id) override;
  boost::asio::awaitable<void> restock(std::string order_id) override;

  // Releases every held reservation past its expiry (in batches of `batch`); returns how many. The sweeper
  // job calls this periodically.
  boost::asio::awaitable<int> sweep_expired(int batch = 500);

 private:
  platform::Database& db_;
  int threshold_;
};

class QueriesService final : public Queries {
 public:
  explicit QueriesService(platform::Database& db) : db_(db) {}
  boost::asio::awaitable<std::vector<VariantSnapshot>> variants(std::vector<std::string> variant_ids) override;

 private:
  platform::Database& db_;
};

}  // namespace bazaar::catalog
