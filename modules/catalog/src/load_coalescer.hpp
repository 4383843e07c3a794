#pragma once
// Request coalescing for cache misses: when many requests miss the same key at once (a cold start, or the
// first requests after an invalidation), one of them loads it and the others wait for that load instead
// of each asking the database the same question.
#include <platform/response_cache.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace bazaar::catalog {

class LoadCoalescer {
 public:
  using Body = platform::ResponseCache::Body;
  struct Flight;

  // The leader loads the key and must call finish(); followers co_await wait().
  struct Ticket {
    std::shared_ptr<Flight> flight;
    bool leader = false;
  };
  Ticket join(const std::string& key);

  // Hands the leader's result to the followers (body nullptr: nothing found). `failed`: the load threw, the
  // followers load for themselves.
  void finish(const std::string& key, const std::shared_ptr<Flight>& flight, Body body, bool failed);

  // The leader's body (possibly nullptr), or nullopt when the leader failed.
  static boost::asio::awaitable<std::optional<Body>> wait(std::shared_ptr<Flight> flight);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace bazaar::catalog
