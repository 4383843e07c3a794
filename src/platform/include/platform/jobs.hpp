#pragma once
// Periodic background work (sweepers, purges). Each job runs as a coroutine on the I/O executor every
// `interval`; an exception is logged and the job runs again next time. Jobs stop at shutdown.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace bazaar::platform {

struct Job {
  std::string name;
  std::chrono::milliseconds interval;
  std::function<boost::asio::awaitable<void>()> run;
};

class Jobs {
 public:
  void every(std::string name, std::chrono::milliseconds interval, std::function<boost::asio::awaitable<void>()> fn) {
    jobs_.push_back(Job{std::move(name), interval, std::move(fn)});
  }
  const std::vector<Job>& all() const { return jobs_; }

 private:
  std::vector<Job> jobs_;
};

}  // namespace bazaar::platform
