#include <platform/metrics.hpp>

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <unordered_map>
#include <mutex>
#include <unistd.h>

namespace bazaar::platform {

namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out.push_back(',');
    out += fmt::format("{}=\"{}\"", labels[i].first, escape_label(labels[i].second));
  }
  out.push_back('}');
  return out;
}

// Appends one more label to an already rendered label set ("{a="b"}" + le → "{a="b",le="0.1"}").
std::string with_label(const std::string& rendered, std::string_view name, std::string_view value) {
  if (rendered.empty()) return fmt::format("{{{}=\"{}\"}}", name, value);
  return fmt::format("{},{}=\"{}\"}}", rendered.substr(0, rendered.size() - 1), name, value);
}

std::string_view status_class(int status) {
  static constexpr std::string_view kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  const int i = status / 100 - 1;
  return i >= 0 && i < 5 ? kClasses[i] : "other";
}

}  // namespace

std::size_t detail::stripe_of_this_thread() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

namespace {
template <class Stripes, class Field>
std::uint64_t total(const Stripes& stripes, Field field) {
  std::uint64_t sum = 0;
  for (const auto& stripe : stripes) sum += field(stripe).load(std::memory_order_relaxed);
  return sum;
}
}  // namespace

std::uint64_t Counter::value() const {
  return total(stripes_, [](const Stripe& s) -> const auto& { return s.value; });
}

void Histogram::observe(double seconds) {
  auto& stripe = stripes_[detail::stripe_of_this_thread()];
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      stripe.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  stripe.count.fetch_add(1, std::memory_order_relaxed);
  stripe.sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const {
  return total(stripes_, [](const Stripe& s) -> const auto& { return s.count; });
}

double Histogram::sum() const {
  return static_cast<double>(total(stripes_, [](const Stripe& s) -> const auto& { return s.sum_us; })) / 1e6;
}

std::uint64_t Histogram::bucket(std::size_t i) const {
  return total(stripes_, [i](const Stripe& s) -> const auto& { return s.buckets[i]; });
}

Metrics::Family& Metrics::family(std::string_view name, std::string_view help, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}, {}}).first;
  }
  return it->second;
}

Counter& Metrics::counter(std::string_view name, std::string_view help, const Labels& labels) {
  const std::string key = render_labels(labels);
  {
    std::shared_lock lock(mutex_);
    auto it = families_.find(name);
    if (it != families_.end()) {
      auto c = it->second.counters.find(key);
      if (c != it->second.counters.end()) return *c->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto& slot = family(name, help, Kind::counter).counters[key];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  const std::string key = render_labels(labels);
  {
    std::shared_lock lock(mutex_);
    auto it = families_.find(name);
    if (it != families_.end()) {
      auto g = it->second.gauges.find(key);
      if (g != it->second.gauges.end()) return *g->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto& slot = family(name, help, Kind::gauge).gauges[key];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help, const Labels& labels) {
  const std::string key = render_labels(labels);
  {
    std::shared_lock lock(mutex_);
    auto it = families_.find(name);
    if (it != families_.end()) {
      auto h = it->second.histograms.find(key);
      if (h != it->second.histograms.end()) return *h->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto& slot = family(name, help, Kind::histogram).histograms[key];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Metrics::gauge_fn(std::string_view name, std::string_view help, std::function<double()> fn) {
  std::unique_lock lock(mutex_);
  family(name, help, Kind::gauge).fn = std::move(fn);
}

void Metrics::observe_request(std::string_view method, std::string_view route, int status, double seconds) {
  const std::string_view r = route.empty() ? std::string_view("unmatched") : route;
  counter("bazaar_http_requests_total", "HTTP requests by method, route template and status class",
          {{"method", std::string(method)}, {"route", std::string(r)}, {"status", std::string(status_class(status))}})
      .inc();
  histogram("bazaar_http_request_duration_seconds", "HTTP request latency by route template",
            {{"route", std::string(r)}})
      .observe(seconds);
}

std::uint64_t Metrics::next_instance() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

void Metrics::observe_route(const void* route_key, std::string_view method, std::string_view route, int status,
                            double seconds) {
  struct Series {
    std::array<Counter*, 6> by_class{};  // 1xx..5xx, other
    Histogram* latency = nullptr;
  };
  // Keyed by the registry's instance number too: a later registry (tests make many) may reuse addresses.
  thread_local std::unordered_map<std::uint64_t, std::unordered_map<const void*, Series>> cache;
  auto& series = cache[instance_][route_key];
  const int cls = status >= 100 && status < 600 ? status / 100 - 1 : 5;
  auto& counter_slot = series.by_class[static_cast<std::size_t>(cls)];
  if (!counter_slot) {
    counter_slot = &counter("bazaar_http_requests_total", "HTTP requests by method, route template and status class",
                            {{"method", std::string(method)}, {"route", std::string(route)},
                             {"status", std::string(status_class(status))}});
  }
  if (!series.latency) {
    series.latency = &histogram("bazaar_http_request_duration_seconds", "HTTP request latency by route template",
                                {{"route", std::string(route)}});
  }
  counter_slot->inc();
  series.latency->observe(seconds);
}

std::string Metrics::render() const {
  std::shared_lock lock(mutex_);
  std::string out;
  out.reserve(16 * 1024);
  for (const auto& [name, fam] : families_) {
    const char* type = fam.kind == Kind::counter ? "counter" : fam.kind == Kind::gauge ? "gauge" : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam.help, name, type);
    for (const auto& [labels, c] : fam.counters) out += fmt::format("{}{} {}\n", name, labels, c->value());
    for (const auto& [labels, g] : fam.gauges) out += fmt::format("{}{} {}\n", name, labels, g->value());
    if (fam.fn) out += fmt::format("{} {}\n", name, fam.fn());
    for (const auto& [labels, h] : fam.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
        cumulative += h->bucket(i);
        out += fmt::format("{}_bucket{} {}\n", name, with_label(labels, "le", fmt::format("{}", Histogram::kBounds[i])),
                           cumulative);
      }
      out += fmt::format("{}_bucket{} {}\n", name, with_label(labels, "le", "+Inf"), h->count());
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, labels, h->sum(), name, labels, h->count());
    }
  }
  return out;
}

std::uint64_t process_rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace bazaar::platform
