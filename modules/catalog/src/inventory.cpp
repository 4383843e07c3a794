#include "inventory.hpp"

#include "domain/stock.hpp"
#include "repository.hpp"

#include <catalog/events.hpp>
#include <platform/ids.hpp>
#include <platform/pq.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace bazaar::catalog {

namespace asio = boost::asio;

namespace {

std::string order_uuid(const std::string& order_id) {
  auto id = platform::normalize_uuid(order_id);
  if (!id) throw std::invalid_argument("catalog::Inventory: order ids are UUIDs");
  return *id;
}

}  // namespace

asio::awaitable<ReserveOutcome> InventoryService::reserve(std::string order_id, std::vector<StockLine> lines,
                                                          std::chrono::seconds ttl) {
  order_id = order_uuid(order_id);
  ReserveOutcome outcome;
  // Ids are compared as stored (lower case). One that is not even a UUID cannot exist: a shortage, without
  // asking the database.
  for (auto& line : lines) {
    if (auto id = platform::normalize_uuid(line.variant_id)) line.variant_id = *id;
  }
  auto merged = domain::merge_lines(lines);
  if (!merged) throw std::invalid_argument("catalog::Inventory::reserve: lines must have positive quantities");
  for (const auto& line : *merged) {
    if (!platform::is_uuid(line.variant_id)) outcome.shortages.push_back({line.variant_id, line.quantity, 0});
  }
  if (!outcome.shortages.empty()) co_return outcome;
  const std::int64_t seconds = std::max<std::int64_t>(ttl.count(), 1);

  auto result = co_await repo::reserve(db_, order_id, *merged, seconds);
  // Idempotent: a repeated call for an order that already holds its stock succeeds even if the stock left
  // since then would not be enough for a new reservation.
  if (!result.reserved) {
    const bool held = co_await repo::has_live_reservation(db_, order_id);
    if (held) {
      result.reserved = true;
      result.shortages.clear();
    }
  }
  outcome.reserved = result.reserved;
  outcome.shortages = std::move(result.shortages);
  outcome.snapshots = std::move(result.snapshots);
  co_return outcome;
}

asio::awaitable<void> InventoryService::confirm(std::string order_id) {
  order_id = order_uuid(order_id);
  const int threshold = threshold_;
  // Usually no variant reaches the low-stock threshold: one autocommit statement. Otherwise that statement
  // fails without changing anything, and a transaction confirms and publishes catalog.stock_low together.
  bool reaches_threshold = false;
  try {
    co_await repo::confirm(db_, order_id, threshold);
  } catch (const std::exception& e) {
    if (!platform::pq::is_expectation_failure(e)) throw;
    reaches_threshold = true;
  }
  if (!reaches_threshold) co_return;
  co_await db_.transaction([&](platform::Tx& tx) {
    for (const auto& c : repo::confirm(tx.sql(), order_id)) {
      if (domain::is_stock_low_after(c.on_hand_before, c.on_hand_after, c.available_after, threshold)) {
        tx.publish(StockLow{c.variant_id, c.product_id, c.sku, c.title, c.available_after, threshold}, c.variant_id);
      }
    }
  });
}

asio::awaitable<void> InventoryService::release(std::string order_id) {
  order_id = order_uuid(order_id);
  co_await db_.transaction([&](platform::Tx& tx) { repo::release(tx.sql(), order_id); });
}

asio::awaitable<void> InventoryService::restock(std::string order_id) {
  order_id = order_uuid(order_id);
  co_await db_.transaction([&](platform::Tx& tx) { repo::restock(tx.sql(), order_id); });
}

asio::awaitable<int> InventoryService::sweep_expired(int batch) {
  int total = 0;
  for (;;) {
    const int n = co_await db_.transaction([&](platform::Tx& tx) { return repo::release_expired(tx.sql(), batch); });
    total += n;
    if (n < batch) break;
  }
  co_return total;
}

asio::awaitable<std::vector<VariantSnapshot>> QueriesService::variants(std::vector<std::string> variant_ids) {
  std::set<std::string> ids;
  for (const auto& id : variant_ids) {
    if (auto normalized = platform::normalize_uuid(id)) ids.insert(*normalized);
  }
  if (ids.empty()) co_return std::vector<VariantSnapshot>{};
  std::vector<std::string> list(ids.begin(), ids.end());
  co_return co_await repo::variant_snapshots(db_, list);
}

}  // namespace bazaar::catalog
