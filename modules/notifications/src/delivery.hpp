#pragma once
// The delivery worker: claims due email and webhook deliveries (FOR UPDATE SKIP LOCKED + a lease), sends
// them on its own small thread pools (libcurl blocks; the I/O threads never wait for a mail server), and
// records sent / failed (exponential backoff) / dead (after notifications.max_attempts).
//
// A pass runs from the periodic job ("notifications-delivery", every notifications.worker_interval_ms)
// and, when notifications.wake_on_commit is on, right after a transaction that queued something commits.
// Isolation, so that a failing SMTP server or webhook never holds up the others (nor the request path):
//   - email and webhooks have separate passes and separate pools: a hung mail server delays no webhook;
//   - within a pass, each destination (the mail server, each webhook URL) is worked in its own lanes;
//   - a destination that fails at the connection level (refused, timed out) is skipped for the rest of
//     the pass and, for notifications.backoff_base_ms, by later passes too (its rows wait, uncounted).
#include "service.hpp"
#include "settings.hpp"
#include "transport.hpp"

#include <accounts/accounts.hpp>
#include <platform/blocking.hpp>
#include <platform/metrics.hpp>
#include <platform/module.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace bazaar::notifications {

struct PassReport {
  std::size_t claimed = 0;
  std::size_t sent = 0;
  std::size_t failed = 0;  // failed this time, will be retried
  std::size_t dead = 0;
  std::size_t deferred = 0;  // skipped: their destination was down in this pass
  std::size_t expanded = 0;  // group messages (admins) turned into deliveries
};

class DeliveryWorker {
 public:
  DeliveryWorker(platform::ModuleContext& ctx, Service& service, const Settings& settings,
                 accounts::Directory& directory);
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  // One pass: expands group messages, then claims and sends batches until nothing due is left.
  boost::asio::awaitable<PassReport> run_pass();
  // Thread-safe: a pass starts soon on the worker's own thread (coalesced: at most one waits).
  void wake();
  void stop();

 private:
  struct Lane;
  struct Channel {
    std::string name;  // "email" | "webhook"
    std::unique_ptr<platform::WorkerPool> pool;
    std::atomic<bool> running{false};
    std::atomic<bool> again{false};
  };
  boost::asio::awaitable<std::size_t> expand_fanouts();
  // One channel's pass; if one is already running, it is asked to go round once more instead.
  boost::asio::awaitable<PassReport> channel_pass(Channel& channel);
  boost::asio::awaitable<PassReport> drain(Channel& channel);
  boost::asio::awaitable<void> run_lane(std::shared_ptr<Lane> lane);
  SendResult send(const repo::DeliveryRow& row);
  bool destination_down(const std::string& destination);
  void trip(const std::string& destination);

  platform::ModuleContext& ctx_;
  Service& service_;
  const Settings& settings_;
  accounts::Directory& directory_;
  std::unique_ptr<EmailTransport> email_;
  platform::Counter& sent_email_;
  platform::Counter& sent_webhook_;
  platform::Counter& failed_;
  platform::Counter& dead_;

  std::mutex breaker_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> down_until_;

  // Wake-ups run passes on a private executor, so that a commit on any thread can start one.
  boost::asio::io_context wake_io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> wake_work_;
  std::thread wake_thread_;
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stopped_{false};

  // Last: their threads finish before anything they use is destroyed.
  Channel email_channel_;
  Channel webhook_channel_;
};

}  // namespace bazaar::notifications
