#include "inventory.hpp"

#include "domain/stock.hpp"
#include "repository.hpp"

#include <catalog/events.hpp>
#include <platform/ids.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace bazaar::catalog {

namespace asio = boost::asio;

namespace {

// Thrown inside the reservation transaction to roll it back when not every line could be served.
struct Shortage : std::runtime_error {
  explicit Shortage(std::vector<StockShortage> s) : std::runtime_error("insufficient stock"), shortages(std::move(s)) {}
  std::vector<StockShortage> shortages;
};

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

  std::vector<StockShortage> shortages;
  try {
    co_await db_.transaction([&](platform::Tx& tx) {
      repo::lock_order(tx.sql(), order_id);  // a concurrent duplicate call waits, then sees our rows
      if (repo::has_live_reservation(tx.sql(), order_id)) return;  // idempotent: reserved before
      auto result = repo::reserve(tx.sql(), order_id, *merged, seconds);
      if (!result.reserved) throw Shortage(std::move(result.shortages));
    });
  } catch (const Shortage& s) {
    shortages = s.shortages;
  }
  outcome.reserved = shortages.empty();
  outcome.shortages = std::move(shortages);
  co_return outcome;
}

asio::awaitable<void> InventoryService::confirm(std::string order_id) {
  order_id = order_uuid(order_id);
  const int threshold = threshold_;
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
  co_return co_await db_.run([&](soci::session& s) { return repo::variant_snapshots(s, list); });
}

}  // namespace bazaar::catalog
