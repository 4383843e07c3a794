#include <platform/cache.hpp>
#include <platform/log.hpp>
#include <platform/metrics.hpp>
#include <platform/response_cache.hpp>
#include <platform/security.hpp>

#include <boost/url.hpp>
#include <hiredis/hiredis.h>

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace bazaar::platform {

namespace {

using Clock = std::chrono::steady_clock;

// Per entry beyond key and body: list node, map node, shared_ptr control block, string headers.
constexpr std::size_t kEntryOverhead = 160;

struct Entry {
  std::string key;
  ResponseCache::Body body;
  Clock::time_point expires;
  std::uint64_t generation = 0;
  std::size_t cost = 0;
  bool refreshing = false;  // a caller is reloading this expired entry
};

struct Shard {
  std::mutex mutex;
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into Entry::key
  std::size_t bytes = 0;
};

struct RedisTarget {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  bool has_password = false;
};

RedisTarget parse_redis_url(const std::string& text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || parsed->scheme() != "redis" || parsed->encoded_host().empty()) {
    throw std::invalid_argument("redis.url must look like redis://[[user]:password@]host[:port][/db]");
  }
  RedisTarget t;
  t.host = parsed->host_address();
  if (parsed->has_port()) t.port = parsed->port_number();
  if (parsed->has_userinfo()) {
    t.user = parsed->user();
    t.has_password = parsed->has_password();
    if (t.has_password) t.password = parsed->password();
  }
  return t;
}

}  // namespace

struct ResponseCache::Impl {
  ResponseCacheOptions options;
  std::vector<std::unique_ptr<Shard>> shards;
  std::size_t shard_budget = 0;
  std::atomic<std::uint64_t> generation{1};

  Counter own_hits, own_misses;
  Counter* hits = &own_hits;
  Counter* misses = &own_misses;
  Gauge own_bytes, own_entries;
  Gauge* bytes_gauge = &own_bytes;
  Gauge* entries_gauge = &own_entries;
  std::atomic<std::size_t> bytes{0};
  std::atomic<std::size_t> entries{0};

  // Cross-instance invalidation (connect_redis).
  std::string instance_id = security::random_token(12);
  std::string channel;
  RedisTarget target;
  std::shared_ptr<RedisClient> publisher;
  std::mutex redis_mutex;
  std::condition_variable redis_cv;
  bool stopping = false;
  std::uint64_t pending_publishes = 0;
  redisContext* subscriber_context = nullptr;  // guarded by redis_mutex, so stop() can wake its read
  std::atomic<bool> subscribed{false};
  std::thread publisher_thread;
  std::thread subscriber_thread;

  explicit Impl(ResponseCacheOptions o) : options(std::move(o)) {
    options.shards = std::max<std::size_t>(options.shards, 1);
    shard_budget = options.max_bytes / options.shards;
    shards.reserve(options.shards);
    for (std::size_t i = 0; i < options.shards; ++i) shards.push_back(std::make_unique<Shard>());
  }

  Shard& shard_for(const std::string& key) { return *shards[std::hash<std::string>{}(key) % shards.size()]; }

  void account(std::ptrdiff_t bytes_delta, std::ptrdiff_t entries_delta) {
    bytes.fetch_add(static_cast<std::size_t>(bytes_delta));
    entries.fetch_add(static_cast<std::size_t>(entries_delta));
    bytes_gauge->add(static_cast<double>(bytes_delta));
    entries_gauge->add(static_cast<double>(entries_delta));
  }

  // Requires the shard's lock.
  void erase_locked(Shard& s, std::list<Entry>::iterator it) {
    const auto cost = it->cost;
    s.index.erase(std::string_view(it->key));
    s.lru.erase(it);
    s.bytes -= cost;
    account(-static_cast<std::ptrdiff_t>(cost), -1);
  }

  void clear_all() {
    for (auto& shard : shards) {
      std::lock_guard lock(shard->mutex);
      const auto n = shard->lru.size();
      const auto b = shard->bytes;
      shard->index.clear();
      shard->lru.clear();
      shard->bytes = 0;
      account(-static_cast<std::ptrdiff_t>(b), -static_cast<std::ptrdiff_t>(n));
    }
  }

  void invalidate_local() {
    generation.fetch_add(1);  // first: from here on nothing older is served or stored
    clear_all();
  }

  void publish_invalidation() {
    if (!publisher) return;
    {
      std::lock_guard lock(redis_mutex);
      ++pending_publishes;
    }
    redis_cv.notify_all();
  }

  // Coalesces bursts of invalidations into one message; a failed PUBLISH is not retried (the other
  // instances' entries expire after the TTL anyway, and Redis may be down for long).
  void publisher_loop() {
    for (;;) {
      {
        std::unique_lock lock(redis_mutex);
        redis_cv.wait(lock, [this] { return stopping || pending_publishes > 0; });
        if (stopping) return;
        pending_publishes = 0;
      }
      auto reply = publisher->command({"PUBLISH", channel, instance_id});
      if (!reply || reply->type == RedisClient::Reply::Type::error) {
        log::warn("response cache: could not publish an invalidation", {{"cache", options.name}});
      }
    }
  }

  // Waits `delay` unless stopping; true when it is time to stop.
  bool wait_or_stop(std::chrono::milliseconds delay) {
    std::unique_lock lock(redis_mutex);
    return redis_cv.wait_for(lock, delay, [this] { return stopping; });
  }

  redisContext* connect_subscriber() {
    const timeval connect_timeout{1, 0};
    redisContext* c = redisConnectWithTimeout(target.host.c_str(), target.port, connect_timeout);
    if (c == nullptr) return nullptr;
    if (c->err != 0) {
      redisFree(c);
      return nullptr;
    }
    redisEnableKeepAlive(c);  // a vanished peer ends the blocking read instead of hanging it forever
    auto command_ok = [c](const std::vector<std::string>& argv, bool subscribe) {
      std::vector<const char*> ptrs;
      std::vector<std::size_t> lens;
      for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
      }
      auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
      if (r == nullptr) return false;
      const bool ok = subscribe ? r->type == REDIS_REPLY_ARRAY : r->type == REDIS_REPLY_STATUS;
      freeReplyObject(r);
      return ok;
    };
    bool ok = true;
    if (target.has_password) {
      std::vector<std::string> auth{"AUTH"};
      if (!target.user.empty()) auth.push_back(target.user);
      auth.push_back(target.password);
      ok = command_ok(auth, false);
    }
    // The blocking read that follows has no timeout: stop() shuts the socket down to end it.
    ok = ok && redisSetTimeout(c, timeval{0, 0}) == REDIS_OK && command_ok({"SUBSCRIBE", channel}, true);
    if (!ok) {
      redisFree(c);
      return nullptr;
    }
    return c;
  }

  void subscriber_loop() {
    // hiredis writes with write(2): a reset peer must not raise SIGPIPE in this thread.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

    auto backoff = std::chrono::milliseconds(100);
    bool warned = false;
    for (;;) {
      redisContext* c = connect_subscriber();
      if (c == nullptr) {
        if (!warned) log::warn("response cache: Redis subscription failed; retrying", {{"cache", options.name}});
        warned = true;
        if (wait_or_stop(backoff)) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      {
        std::lock_guard lock(redis_mutex);
        if (stopping) {
          redisFree(c);
          return;
        }
        subscriber_context = c;
      }
      if (warned) log::info("response cache: Redis subscription restored", {{"cache", options.name}});
      warned = false;
      backoff = std::chrono::milliseconds(100);
      invalidate_local();  // messages may have been missed while we were not subscribed
      subscribed = true;
      for (;;) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) break;
        auto* r = static_cast<redisReply*>(raw);
        // ["message", channel, payload]; the payload is the sender's instance id.
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
            std::string_view(r->element[0]->str, r->element[0]->len) == "message" &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            std::string_view(r->element[2]->str, r->element[2]->len) != instance_id) {
          invalidate_local();
        }
        freeReplyObject(r);
      }
      subscribed = false;
      {
        std::lock_guard lock(redis_mutex);
        subscriber_context = nullptr;
      }
      redisFree(c);
      if (wait_or_stop(backoff)) return;
    }
  }

  void stop() {
    {
      std::lock_guard lock(redis_mutex);
      if (stopping) return;
      stopping = true;
      if (subscriber_context != nullptr) ::shutdown(subscriber_context->fd, SHUT_RDWR);
    }
    redis_cv.notify_all();
    if (publisher_thread.joinable()) publisher_thread.join();
    if (subscriber_thread.joinable()) subscriber_thread.join();
  }
};

ResponseCache::ResponseCache(ResponseCacheOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

ResponseCache::~ResponseCache() { stop(); }

ResponseCache::Lookup ResponseCache::lookup(const std::string& key) {
  auto& d = *impl_;
  Shard& s = d.shard_for(key);
  const auto now = Clock::now();
  const auto current = d.generation.load();
  {
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(std::string_view(key));
    if (it != s.index.end()) {
      auto entry = it->second;
      if (entry->generation == current && now < entry->expires + d.options.ttl) {
        s.lru.splice(s.lru.begin(), s.lru, entry);
        d.hits->inc();
        if (now < entry->expires || entry->refreshing) return {entry->body, false};
        entry->refreshing = true;  // this caller reloads; the others keep the old body meanwhile
        return {entry->body, true};
      }
      d.erase_locked(s, entry);
    }
  }
  d.misses->inc();
  return {};
}

ResponseCache::Body ResponseCache::get(const std::string& key) {
  auto& d = *impl_;
  Shard& s = d.shard_for(key);
  const auto now = Clock::now();
  const auto current = d.generation.load();
  {
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(std::string_view(key));
    if (it != s.index.end()) {
      auto entry = it->second;
      if (entry->generation == current && now < entry->expires) {
        s.lru.splice(s.lru.begin(), s.lru, entry);
        d.hits->inc();
        return entry->body;
      }
      if (entry->generation != current || now >= entry->expires + d.options.ttl) d.erase_locked(s, entry);
    }
  }
  d.misses->inc();
  return nullptr;
}

std::uint64_t ResponseCache::generation() const { return impl_->generation.load(); }

void ResponseCache::put(std::string key, Body body, std::uint64_t generation) {
  auto& d = *impl_;
  if (!body) return;
  const std::size_t cost = key.size() + body->size() + kEntryOverhead;
  if (cost > d.shard_budget) return;
  Shard& s = d.shard_for(key);
  std::lock_guard lock(s.mutex);
  // Checked under the shard lock: invalidate_local() bumps the generation before it clears the shards,
  // so a put that passes this check lands before that shard is cleared, never after.
  if (generation != d.generation.load()) return;
  if (auto it = s.index.find(std::string_view(key)); it != s.index.end()) d.erase_locked(s, it->second);
  while (s.bytes + cost > d.shard_budget && !s.lru.empty()) d.erase_locked(s, std::prev(s.lru.end()));
  s.lru.push_front(Entry{std::move(key), std::move(body), Clock::now() + d.options.ttl, generation, cost});
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  s.bytes += cost;
  d.account(static_cast<std::ptrdiff_t>(cost), 1);
}

void ResponseCache::invalidate_all() {
  impl_->invalidate_local();
  impl_->publish_invalidation();
}

void ResponseCache::invalidate_local() { impl_->invalidate_local(); }

void ResponseCache::connect_redis(const std::string& redis_url, std::string channel) {
  auto& d = *impl_;
  if (d.publisher) throw std::logic_error("ResponseCache::connect_redis called twice");
  d.target = parse_redis_url(redis_url);
  d.channel = std::move(channel);
  d.publisher = std::make_shared<RedisClient>(redis_url, 1);
  d.publisher_thread = std::thread([&d] { d.publisher_loop(); });
  d.subscriber_thread = std::thread([&d] { d.subscriber_loop(); });
}

void ResponseCache::stop() { impl_->stop(); }

void ResponseCache::register_metrics(Metrics& metrics) {
  auto& d = *impl_;
  const Labels labels{{"cache", d.options.name}};
  d.hits = &metrics.counter("bazaar_response_cache_hits_total", "Response cache hits", labels);
  d.misses = &metrics.counter("bazaar_response_cache_misses_total", "Response cache misses", labels);
  d.bytes_gauge = &metrics.gauge("bazaar_response_cache_bytes", "Bytes held by the response cache", labels);
  d.entries_gauge = &metrics.gauge("bazaar_response_cache_entries", "Entries in the response cache", labels);
  d.hits->inc(d.own_hits.value());
  d.misses->inc(d.own_misses.value());
  d.bytes_gauge->set(static_cast<double>(d.bytes.load()));
  d.entries_gauge->set(static_cast<double>(d.entries.load()));
}

std::uint64_t ResponseCache::hits() const { return impl_->hits->value(); }
std::uint64_t ResponseCache::misses() const { return impl_->misses->value(); }
std::size_t ResponseCache::bytes() const { return impl_->bytes.load(); }
std::size_t ResponseCache::entries() const { return impl_->entries.load(); }
bool ResponseCache::redis_subscribed() const { return impl_->subscribed.load(); }
const ResponseCacheOptions& ResponseCache::options() const { return impl_->options; }

}  // namespace bazaar::platform
