#pragma once
// Stock reservations for orders. Reservations are rows per (order, variant) made all-or-nothing with
// conditional updates, so concurrent checkouts can never oversell. Every call is idempotent per order id,
// so a retried or duplicated call (a crash and a retry) never reserves, confirms or releases twice.
#include <catalog/types.hpp>

#include <platform/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace bazaar::catalog {

struct ReserveOutcome {
  bool reserved = false;
  std::vector<StockShortage> shortages;  // when not reserved: the lines that could not be served
  // The requested variants that exist, read under the reservation's lock (prices for the order, in the
  // same round trip). A variant that is not purchasable is never reserved: a shortage with available 0.
  std::vector<VariantSnapshot> snapshots;
};

class Inventory {
 public:
  virtual ~Inventory() = default;
  // Reserves every line or none. A second call for the same order returns the first outcome's success.
  virtual boost::asio::awaitable<ReserveOutcome> reserve(std::string order_id, std::vector<StockLine> lines,
                                                         std::chrono::seconds ttl) = 0;
  // The reserved stock leaves on_hand (the order is paid). No-op if already confirmed or released.
  virtual boost::asio::awaitable<void> confirm(std::string order_id) = 0;
  // Returns reserved stock to availability. No-op if already released or confirmed.
  virtual boost::asio::awaitable<void> release(std::string order_id) = 0;
  // Puts confirmed stock back on hand (a refunded/cancelled order after payment). No-op unless confirmed.
  virtual boost::asio::awaitable<void> restock(std::string order_id) = 0;
};

}  // namespace bazaar::catalog
