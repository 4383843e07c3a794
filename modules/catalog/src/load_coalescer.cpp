#include "load_coalescer.hpp"

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <vector>

namespace bazaar::catalog {

namespace asio = boost::asio;

namespace {
// Thread-safe and buffered: a result sent before the follower starts waiting is not lost.
using Signal = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
}  // namespace

struct LoadCoalescer::Flight {
  std::mutex mutex;
  bool done = false;
  bool failed = false;
  Body body;
  std::vector<std::shared_ptr<Signal>> waiters;
};

LoadCoalescer::Ticket LoadCoalescer::join(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = flights_.try_emplace(key);
  if (inserted) it->second = std::make_shared<Flight>();
  return {it->second, inserted};
}

void LoadCoalescer::finish(const std::string& key, const std::shared_ptr<Flight>& flight, Body body, bool failed) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = flights_.find(key); it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  std::vector<std::shared_ptr<Signal>> waiters;
  {
    std::lock_guard lock(flight->mutex);
    flight->done = true;
    flight->failed = failed;
    flight->body = std::move(body);
    waiters.swap(flight->waiters);
  }
  for (auto& w : waiters) w->try_send(boost::system::error_code{});
}

asio::awaitable<std::optional<LoadCoalescer::Body>> LoadCoalescer::wait(std::shared_ptr<Flight> flight) {
  auto signal = std::make_shared<Signal>(co_await asio::this_coro::executor, 1);
  bool registered = false;
  {
    std::lock_guard lock(flight->mutex);
    if (!flight->done) {
      flight->waiters.push_back(signal);
      registered = true;
    }
  }
  if (registered) co_await signal->async_receive(asio::use_awaitable);
  std::optional<Body> result;
  {
    std::lock_guard lock(flight->mutex);
    if (!flight->failed) result = flight->body;
  }
  co_return result;
}

}  // namespace bazaar::catalog
