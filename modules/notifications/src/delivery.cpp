#include "delivery.hpp"

#include "domain/catalogue.hpp"

#include <platform/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace bazaar::notifications {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct Tally {
  std::atomic<std::size_t> sent{0}, failed{0}, dead{0}, deferred{0};
};

constexpr int kFanoutBatch = 20;
constexpr int kFanoutLeaseSeconds = 300;
constexpr std::size_t kMaxBatchesPerPass = 20;
constexpr std::size_t kLanesPerWebhookUrl = 2;

void add(PassReport& into, const PassReport& r) {
  into.claimed += r.claimed;
  into.sent += r.sent;
  into.failed += r.failed;
  into.dead += r.dead;
  into.deferred += r.deferred;
  into.expanded += r.expanded;
}

std::unique_ptr<platform::WorkerPool> make_pool(const std::string& name, const Settings& s) {
  // Not the request path: a send may wait its turn for minutes behind slow servers rather than fail.
  return std::make_unique<platform::WorkerPool>(platform::WorkerPoolOptions{
      name, s.worker_threads, static_cast<std::size_t>(s.batch_size) * 4 + 64, std::chrono::minutes(10)});
}

}  // namespace

struct DeliveryWorker::Lane {
  Channel* channel = nullptr;
  std::string destination;
  std::vector<repo::DeliveryRow> rows;
  std::shared_ptr<std::atomic<bool>> down_in_pass;
  std::shared_ptr<Tally> tally;
};

DeliveryWorker::DeliveryWorker(platform::ModuleContext& ctx, Service& service, const Settings& settings,
                               accounts::Directory& directory)
    : ctx_(ctx),
      service_(service),
      settings_(settings),
      directory_(directory),
      email_(make_email_transport(settings.email)),
      sent_email_(
          ctx.metrics().counter("bazaar_notifications_sent_total", "Notifications sent", {{"channel", "email"}})),
      sent_webhook_(
          ctx.metrics().counter("bazaar_notifications_sent_total", "Notifications sent", {{"channel", "webhook"}})),
      failed_(ctx.metrics().counter("bazaar_notifications_failed_attempts_total",
                                    "Email and webhook sends that failed (and will be retried or are dead)")),
      dead_(ctx.metrics().counter("bazaar_notifications_dead_total",
                                  "Deliveries that exhausted notifications.max_attempts")),
      wake_work_(
          std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(wake_io_.get_executor())) {
  email_channel_.name = std::string(domain::kEmail);
  email_channel_.pool = make_pool("notifications-email", settings);
  webhook_channel_.name = std::string(domain::kWebhook);
  webhook_channel_.pool = make_pool("notifications-webhook", settings);
  wake_thread_ = std::thread([this] { wake_io_.run(); });
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::stop() {
  if (stopped_.exchange(true)) return;
  wake_work_.reset();
  wake_io_.stop();
  if (wake_thread_.joinable()) wake_thread_.join();
  email_channel_.pool->stop();
  webhook_channel_.pool->stop();
}

void DeliveryWorker::wake() {
  if (!settings_.wake_on_commit || stopped_) return;
  if (wake_pending_.exchange(true)) return;  // a pass is already on its way and will see this row too
  asio::co_spawn(
      wake_io_,
      [](DeliveryWorker* self) -> asio::awaitable<void> {
        // Wakes that arrive during the delay find wake_pending_ set and join this pass.
        asio::steady_timer delay(co_await asio::this_coro::executor, self->settings_.wake_delay);
        co_await delay.async_wait(asio::use_awaitable);
        self->wake_pending_ = false;
        try {
          co_await self->run_pass();
        } catch (const std::exception& e) {
          platform::log::warn("notification delivery pass failed", {{"error", e.what()}});
        }
      }(this),
      asio::detached);
}

bool DeliveryWorker::destination_down(const std::string& destination) {
  std::lock_guard lock(breaker_mutex_);
  const auto it = down_until_.find(destination);
  if (it == down_until_.end()) return false;
  if (it->second > std::chrono::steady_clock::now()) return true;
  down_until_.erase(it);
  return false;
}

void DeliveryWorker::trip(const std::string& destination) {
  const auto cooldown = std::min<std::chrono::milliseconds>(settings_.backoff_base, std::chrono::minutes(5));
  if (cooldown.count() <= 0) return;
  std::lock_guard lock(breaker_mutex_);
  down_until_[destination] = std::chrono::steady_clock::now() + cooldown;
}

SendResult DeliveryWorker::send(const repo::DeliveryRow& row) {
  if (row.channel == domain::kWebhook) {
    if (settings_.webhook_secret.empty()) return {false, "notifications.webhook_secret is not configured", true};
    return post_webhook({row.recipient, row.payload, row.event_id, row.event_type}, settings_.webhook_secret,
                        settings_.webhook_timeout);
  }
  if (!row.subject || !row.body_text) return {false, "nothing to send: the message was never rendered", false};
  OutgoingEmail email{
      row.id, {row.recipient_name.value_or(""), row.recipient}, *row.subject, *row.body_text, row.body_html};
  return email_->send(email);
}

asio::awaitable<void> DeliveryWorker::run_lane(std::shared_ptr<Lane> lane) {
  auto& db = ctx_.db();
  auto& tally = *lane->tally;
  const auto backoff_ms = static_cast<long long>(settings_.backoff_base.count());
  for (const auto& row : lane->rows) {
    try {
      if (lane->down_in_pass->load() || destination_down(lane->destination)) {
        co_await db.run([&](soci::session& s) { repo::release(s, row.id, backoff_ms); });
        ++tally.deferred;
        continue;
      }
      SendResult result;
      bool handed_over = true;
      try {
        result = co_await lane->channel->pool->run([&] { return send(row); });
      } catch (const std::exception&) {  // the pool is full or stopping: try again later, no attempt counted
        handed_over = false;
      }
      if (!handed_over) {
        co_await db.run([&](soci::session& s) { repo::release(s, row.id, backoff_ms); });
        ++tally.deferred;
        continue;
      }
      if (result.ok) {
        co_await db.run([&](soci::session& s) { repo::mark_sent(s, row.id); });
        ++tally.sent;
        (row.channel == domain::kWebhook ? sent_webhook_ : sent_email_).inc();
        continue;
      }
      if (result.destination_down) {
        lane->down_in_pass->store(true);
        trip(lane->destination);
      }
      const auto status = co_await db.run([&](soci::session& s) {
        return repo::mark_failed(s, row.id, result.error, settings_.max_attempts, backoff_ms);
      });
      failed_.inc();
      if (status == "dead") {
        ++tally.dead;
        dead_.inc();
      } else {
        ++tally.failed;
      }
      platform::log::warn("notification not sent", {{"delivery_id", row.id},
                                                    {"channel", row.channel},
                                                    {"template", row.template_name},
                                                    {"attempt", row.attempts + 1},
                                                    {"status", status},
                                                    {"error", result.error}});
    } catch (const std::exception& e) {
      // Recording failed (database trouble): the lease runs out and a later pass takes the row again.
      platform::log::warn("notification delivery not recorded", {{"delivery_id", row.id}, {"error", e.what()}});
    }
  }
}

asio::awaitable<std::size_t> DeliveryWorker::expand_fanouts() {
  auto& db = ctx_.db();
  auto fanouts =
      co_await db.run([](soci::session& s) { return repo::claim_fanouts(s, kFanoutBatch, kFanoutLeaseSeconds); });
  if (fanouts.empty()) co_return 0;
  const auto admins = co_await directory_.admins();
  std::size_t expanded = 0;
  for (const auto& f : fanouts) {
    try {
      boost::system::error_code ec;
      auto context = json::parse(f.context, ec);
      co_await db.transaction([&](platform::Tx& tx) {
        if (!ec && context.is_object()) {
          for (const auto& admin : admins) {
            Recipient to{admin.user_id, admin.email, admin.first_name + " " + admin.last_name};
            service_.compose(tx, {f.event_id, f.event_type}, f.template_name, to, context.as_object(), {true, true});
          }
        }
        repo::delete_fanout(tx.sql(), f);
      });
      ++expanded;
    } catch (const std::exception& e) {
      platform::log::warn("notification to admins not composed", {{"event_id", f.event_id}, {"error", e.what()}});
    }
  }
  co_return expanded;
}

asio::awaitable<PassReport> DeliveryWorker::drain(Channel& channel) {
  PassReport report;
  // The lease covers a whole batch sent one after another at the slowest timeout, so that no other
  // instance takes a row while it is still queued here.
  const auto timeout = channel.name == domain::kEmail ? settings_.email.timeout : settings_.webhook_timeout;
  const int lease = static_cast<int>(std::min<std::int64_t>(
      3600, 60 + std::chrono::duration_cast<std::chrono::seconds>(timeout).count() * settings_.batch_size));
  std::string pass_started;  // database time of the first claim: later batches take only rows due by then
  auto executor = co_await asio::this_coro::executor;

  for (std::size_t batch = 0; batch < kMaxBatchesPerPass; ++batch) {
    auto claimed = co_await ctx_.db().run(
        [&](soci::session& s) { return repo::claim_due(s, channel.name, settings_.batch_size, lease, pass_started); });
    if (claimed.rows.empty()) break;
    if (pass_started.empty()) pass_started = claimed.db_now;
    report.claimed += claimed.rows.size();
    const bool full = static_cast<int>(claimed.rows.size()) >= settings_.batch_size;

    // Lanes per destination: up to worker_threads for the mail server, a couple per webhook URL.
    std::map<std::string, std::vector<repo::DeliveryRow>> by_destination;
    for (auto& row : claimed.rows) {
      by_destination[channel.name == domain::kEmail ? std::string("smtp") : row.recipient].push_back(std::move(row));
    }
    auto tally = std::make_shared<Tally>();
    std::vector<std::shared_ptr<Lane>> lanes;
    for (auto& [destination, rows] : by_destination) {
      const std::size_t width = channel.name == domain::kEmail ? settings_.worker_threads : kLanesPerWebhookUrl;
      const std::size_t n = std::min(rows.size(), width);
      auto down = std::make_shared<std::atomic<bool>>(false);
      const std::size_t first = lanes.size();
      for (std::size_t i = 0; i < n; ++i) {
        lanes.push_back(std::make_shared<Lane>(Lane{&channel, destination, {}, down, tally}));
      }
      for (std::size_t i = 0; i < rows.size(); ++i) lanes[first + i % n]->rows.push_back(std::move(rows[i]));
    }
    using LaneOp = decltype(asio::co_spawn(executor, run_lane(nullptr), asio::deferred));
    std::vector<LaneOp> ops;
    ops.reserve(lanes.size());
    for (auto& lane : lanes) ops.push_back(asio::co_spawn(executor, run_lane(lane), asio::deferred));
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);

    report.sent += tally->sent;
    report.failed += tally->failed;
    report.dead += tally->dead;
    report.deferred += tally->deferred;
    if (!full) break;
  }
  co_return report;
}

asio::awaitable<PassReport> DeliveryWorker::channel_pass(Channel& channel) {
  if (channel.running.exchange(true)) {
    channel.again = true;  // the running pass goes round once more and picks up whatever is due now
    co_return PassReport{};
  }
  struct Owner {  // gives the channel back, also when a pass throws
    std::atomic<bool>& running;
    bool owns = true;
    ~Owner() {
      if (owns) running = false;
    }
  } owner{channel.running};
  PassReport report;
  for (;;) {
    do {
      channel.again = false;
      add(report, co_await drain(channel));
    } while (channel.again.load());
    owner.owns = false;
    channel.running = false;
    // A trigger that arrived between the last check and the release: serve it, unless another pass took it.
    if (!channel.again.load() || channel.running.exchange(true)) break;
    owner.owns = true;
  }
  co_return report;
}

asio::awaitable<PassReport> DeliveryWorker::run_pass() {
  using namespace asio::experimental::awaitable_operators;
  PassReport report;
  report.expanded = co_await expand_fanouts();
  // Email and webhooks side by side: neither waits for the other's slow servers.
  auto [email, webhook] = co_await (channel_pass(email_channel_) && channel_pass(webhook_channel_));
  add(report, email);
  add(report, webhook);
  co_return report;
}

}  // namespace bazaar::notifications
