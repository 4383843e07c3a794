#pragma once
// An in-process cache of ready response bodies: hot reads are answered with bytes built once and shared by
// every reply that sends them (http::Reply::shared_body), with no copy and no JSON DOM per request.
//
// Sharded (one mutex per shard, LRU order per shard) and bounded in bytes. Entries are fresh for `ttl`;
// after that, lookup() picks one caller to reload the entry while concurrent callers keep getting the
// previous body (for at most another `ttl`), so an expiring hot key costs one load, not one per waiting
// request. Data that changes without an explicit invalidation (stock levels) is therefore stale by at most
// the TTL plus one reload. invalidate_all()
// bumps a generation counter: every entry stored before it is dead at once, and a value loaded before it
// but stored after it is refused (put() takes the generation read before loading). Correctness never
// depends on the cache: a miss just loads.
//
// With connect_redis(), invalidations are also published on a Redis channel and a subscriber thread applies
// other instances' invalidations. Redis being down never fails a call: the local cache stays correct for
// this instance, and other instances' entries expire after `ttl`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace bazaar::platform {

class Metrics;

struct ResponseCacheOptions {
  std::string name = "responses";  // the `cache` label of the metrics
  std::chrono::milliseconds ttl{2000};
  std::size_t max_bytes = 64u << 20;  // bodies + keys + bookkeeping, over all shards
  std::size_t shards = 16;
};

class ResponseCache {
 public:
  using Body = std::shared_ptr<const std::string>;

  explicit ResponseCache(ResponseCacheOptions options);
  ~ResponseCache();  // stops the Redis threads, if any
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  struct Lookup {
    Body body;             // what to serve; nullptr on a miss
    bool refresh = false;  // the entry expired and this caller was chosen to reload it (body is the old one)
  };
  // Fresh entry: {body, false}. Expired entry nobody is reloading yet: {old body, true} — reload and put().
  // Expired entry already being reloaded: {old body, false}. Miss (absent, too old, or stored before an
  // invalidation): {nullptr, false}.
  Lookup lookup(const std::string& key);
  // The fresh body cached under `key`, or nullptr.
  Body get(const std::string& key);
  // Read this before loading a value, and hand it to put().
  std::uint64_t generation() const;
  // Caches `body` under `key`, unless an invalidation happened since `generation` was read (then the
  // loaded value may predate the change, and is dropped). Bodies larger than a shard's budget are not kept.
  void put(std::string key, Body body, std::uint64_t generation);
  // Drops every entry here and, when connected to Redis, asks the other instances to do the same.
  void invalidate_all();
  // Drops every entry here only (what a message from another instance triggers).
  void invalidate_local();

  // Publishes invalidations on `channel` and applies other instances' ones, over `redis_url`
  // ("redis://[[user]:password@]host[:port][/db]"). A subscriber thread keeps its own connection,
  // reconnecting with backoff; after each (re)subscription the local cache is dropped, since messages may
  // have been missed meanwhile. Throws std::invalid_argument for a malformed URL.
  void connect_redis(const std::string& redis_url, std::string channel);
  // Stops the Redis threads (idempotent; the destructor calls it).
  void stop();

  // bazaar_response_cache_{hits,misses}_total counters and bazaar_response_cache_{bytes,entries} gauges,
  // labelled cache="<name>". Call once, before serving.
  void register_metrics(Metrics& metrics);

  std::uint64_t hits() const;
  std::uint64_t misses() const;
  std::size_t bytes() const;
  std::size_t entries() const;
  bool redis_subscribed() const;  // the subscriber currently holds a live subscription
  const ResponseCacheOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bazaar::platform
