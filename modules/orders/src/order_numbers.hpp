#pragma once
// Order numbers (BZR-001234) handed out from blocks taken from orders.order_number_seq, so that checkout
// knows its order's number before the order is inserted: the OrderPlaced event, which carries the number,
// then travels in the same pipelined batch as the insert (one round trip). One block costs one round trip
// per kBlock orders. Numbers stay unique (the sequence never repeats); like any sequence they have gaps (a
// restart forgets the rest of its block) and, across instances, are only roughly in time order.
#include <platform/db.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <deque>
#include <mutex>

namespace bazaar::orders {

class OrderNumbers {
 public:
  static constexpr int kBlock = 64;
  explicit OrderNumbers(platform::Database& db) : db_(db) {}
  boost::asio::awaitable<std::int64_t> next();

 private:
  bool take(std::int64_t& out);

  platform::Database& db_;
  std::mutex mutex_;  // next() runs on every I/O thread
  std::deque<std::int64_t> free_;
};

}  // namespace bazaar::orders
