#pragma once
// Prometheus metrics: counters, gauges and latency histograms, rendered as text exposition format.
// Look-ups take a shared lock; updates are atomics, so the request path never serialises on a mutex.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::platform {

using Labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {
// Counters and histograms are updated by every I/O thread for every request. One copy per stripe, each
// on a cache line of its own, and each thread writing its own stripe: no cache line bounces between
// cores on the request path. Reads (a scrape) add the stripes up.
inline constexpr std::size_t kStripes = 4;
std::size_t stripe_of_this_thread();
}  // namespace detail

class Counter {
 public:
  void inc(std::uint64_t n = 1) { stripes_[detail::stripe_of_this_thread()].value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const;

 private:
  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Stripe, detail::kStripes> stripes_{};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // Seconds; tuned for an API whose requests take 0.1 ms .. 1 s.
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
  void observe(double seconds);
  std::uint64_t count() const;
  double sum() const;
  std::uint64_t bucket(std::size_t i) const;

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_us{0};
  };
  std::array<Stripe, detail::kStripes> stripes_{};
};

class Metrics {
 public:
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {});
  // A gauge computed when scraped (RSS, pool sizes): the function must be cheap and non-blocking.
  void gauge_fn(std::string_view name, std::string_view help, std::function<double()> fn);

  // One request: counts per method/route/status and latency per route.
  void observe_request(std::string_view method, std::string_view route, int status, double seconds);
  // The same for a request whose route is known: `route_key` (the matched route's address) finds the
  // series in a per-thread cache, so the hot path builds no label strings and takes no lock.
  void observe_route(const void* route_key, std::string_view method, std::string_view route, int status,
                     double seconds);

  std::string render() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::function<double()> fn;
  };
  Family& family(std::string_view name, std::string_view help, Kind kind);

  mutable std::shared_mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  // Unique per registry (never reused, unlike an address): keys the per-thread series cache.
  const std::uint64_t instance_ = next_instance();
  static std::uint64_t next_instance();
};

// Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown.
std::uint64_t process_rss_bytes();

}  // namespace bazaar::platform
