#include "order_numbers.hpp"

#include "repository.hpp"

namespace bazaar::orders {

bool OrderNumbers::take(std::int64_t& out) {
  std::lock_guard lock(mutex_);
  if (free_.empty()) return false;
  out = free_.front();
  free_.pop_front();
  return true;
}

boost::asio::awaitable<std::int64_t> OrderNumbers::next() {
  std::int64_t number = 0;
  if (take(number)) co_return number;
  // Concurrent refills may each take a block: harmless, every number is still used at most once.
  auto block = co_await repo::next_order_numbers(db_, kBlock);
  number = block.front();
  std::lock_guard lock(mutex_);
  free_.insert(free_.end(), block.begin() + 1, block.end());
  co_return number;
}

}  // namespace bazaar::orders
