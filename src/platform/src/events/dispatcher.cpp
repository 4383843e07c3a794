#include "dispatcher.hpp"

#include <platform/log.hpp>
#include <platform/metrics.hpp>
#include <platform/pq.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>
#include <sys/select.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace bazaar::platform {

namespace asio = boost::asio;

Dispatcher::Dispatcher(Database& db, DispatcherOptions options, Metrics& metrics)
    : db_(db),
      options_(std::move(options)),
      backlog_(metrics.gauge("bazaar_outbox_pending", "Outbox events not yet delivered")),
      dead_(metrics.gauge("bazaar_outbox_dead", "Outbox events that exhausted their attempts")),
      delivered_(metrics.counter("bazaar_events_delivered_total", "Events delivered to all their subscribers")),
      failures_(metrics.counter("bazaar_event_handler_failures_total", "Subscriber attempts that threw")) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::subscribe(std::string subscriber, std::string event_type, EventHandler handler) {
  subscriptions_.push_back(Subscription{std::move(subscriber), std::move(event_type), std::move(handler)});
}

void Dispatcher::start(asio::io_context& io) {
  timer_ = std::make_unique<asio::steady_timer>(io);
  delay_timer_ = std::make_unique<asio::steady_timer>(io);
  asio::co_spawn(io, loop(), asio::detached);
  if (!options_.listen_url.empty()) listener_ = std::thread([this] { listen_loop(); });
}

void Dispatcher::wake() {
  wake_pending_ = true;
  if (timer_) asio::post(timer_->get_executor(), [this] { timer_->cancel(); });
}

void Dispatcher::stop() {
  if (stopping_.exchange(true)) return;
  if (timer_) asio::post(timer_->get_executor(), [this] {
    timer_->cancel();
    delay_timer_->cancel();
  });
  if (listener_.joinable()) listener_.join();
}

asio::awaitable<void> Dispatcher::loop() {
  while (!stopping_) {
    wake_pending_ = false;
    try {
      while (!stopping_ && co_await dispatch_once() > 0) {
      }
      // At most once per poll interval: under load a pass runs per wake-up, and counting the backlog is
      // not free (it grows with the outbox).
      const auto now = std::chrono::steady_clock::now();
      if (now - metrics_refreshed_ >= options_.poll_interval) {
        metrics_refreshed_ = now;
        co_await refresh_backlog_metrics();
      }
    } catch (const std::exception& e) {
      log::warn("event dispatch pass failed", {{"error", e.what()}});
    }
    if (stopping_) break;
    if (!wake_pending_) {  // else woken while the pass ran
      timer_->expires_after(options_.poll_interval);
      co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (wake_pending_ && options_.wake_delay.count() > 0 && !stopping_) {
      delay_timer_->expires_after(options_.wake_delay);
      co_await delay_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<void> Dispatcher::ask_for_help() {
  if (options_.listen_url.empty()) co_return;  // this instance takes no part in cross-instance wake-ups
  try {
    co_await db_.run([](soci::session& s) { pq::exec(s, fmt::format("NOTIFY {}", kEventsChannel)); });
  } catch (const std::exception& e) {  // the others still poll
    log::warn("could not wake the other instances' dispatchers", {{"error", e.what()}});
  }
}

// The dispatcher's statements run for every event: prepared once per connection, one round trip each.
namespace {

// Planned for every call, not prepared: the outbox is a queue that starts empty and grows by thousands of
// rows a minute, and a generic plan made while it was small (a sequential scan) would be kept until the next
// ANALYZE — measured at 126 ms a claim instead of 1. A claim runs a few times a second; planning is cheap.
constexpr const char* kClaimSql = R"sql(
    UPDATE platform.outbox SET locked_until = now() + make_interval(secs => $1::int)
    WHERE id IN (
      SELECT id FROM platform.outbox
      WHERE status = 'pending' AND next_attempt_at <= now()
        AND (locked_until IS NULL OR locked_until < now())
      ORDER BY next_attempt_at, id
      LIMIT $2::int
      FOR UPDATE SKIP LOCKED)
    RETURNING id::text, type, version, aggregate_id, payload::text,
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), attempts)sql";

// First attempts, claimed inside the transaction that delivers them and closed by the claim itself: the
// claim's row locks keep every other dispatcher off them (SKIP LOCKED) until that transaction ends, so
// they need no lease and no second update. A crash rolls it all back and leaves them due at once. Not
// prepared, for the reason above.
constexpr const char* kTakeFreshSql = R"sql(
    WITH taken AS (
      UPDATE platform.outbox SET status = 'delivered', delivered_at = now(), locked_until = NULL, attempts = 1
      WHERE id IN (
        SELECT id FROM platform.outbox
        WHERE status = 'pending' AND attempts = 0 AND next_attempt_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at, id
        LIMIT $1::int
        FOR UPDATE SKIP LOCKED)
      RETURNING id, type, version, aggregate_id, payload, occurred_at),
    -- an event an admin sent again (attempts back to 0) has the delivery rows of its failures
    done AS (
      UPDATE platform.deliveries SET status = 'done', updated_at = now()
      WHERE event_id IN (SELECT id FROM taken) AND status <> 'done')
    SELECT id::text, type, version, aggregate_id, payload::text,
           to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 0
    FROM taken)sql";

constexpr pq::Prepared kInbox{"platform_inbox_insert_v1", R"sql(
    INSERT INTO platform.inbox (subscriber, event_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING)sql"};

// The inbox rows of a whole batch: the (subscriber, event) pairs that are new come back.
constexpr pq::Prepared kInboxBatch{"platform_inbox_insert_batch_v1", R"sql(
    INSERT INTO platform.inbox (subscriber, event_id)
    SELECT subscriber, event_id FROM unnest($1::text[], $2::uuid[]) AS pair(subscriber, event_id)
    ON CONFLICT DO NOTHING
    RETURNING subscriber, event_id::text)sql"};

// The leased events of a claim that every subscriber handled: one autocommit statement closes them all
// (and any failure records of earlier attempts). A crash before it leaves them leased; once the lease
// runs out they are claimed again, and the inbox turns the redelivery into a no-op.
constexpr pq::Prepared kDelivered{"platform_outbox_delivered_v2", R"sql(
    WITH done AS (
      UPDATE platform.deliveries SET status = 'done', updated_at = now()
      WHERE event_id = ANY($1::uuid[]) AND status <> 'done')
    UPDATE platform.outbox SET status = 'delivered', delivered_at = now(), locked_until = NULL,
                               attempts = attempts + 1
    WHERE id = ANY($1::uuid[]))sql"};

void close_delivered(soci::session& s, const std::vector<std::string>& event_ids) {
  pq::Params params;
  params.add(pq::array_literal(event_ids));
  pq::exec_prepared(s, kDelivered, params);
}

}  // namespace

// The claimed rows (id, type, version, aggregate_id, payload, occurred_at, attempts) in publication order:
// RETURNING keeps none, and UUIDv7 ids sort by creation time, so that an aggregate's events (order placed,
// then paid) reach each subscriber in the order they happened.
std::vector<Dispatcher::Claimed> Dispatcher::read_claimed(const pq::Result& rows) {
  std::vector<Claimed> out;
  out.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    Claimed c;
    c.event.id = rows.string(i, 0);
    c.event.type = rows.string(i, 1);
    c.event.version = static_cast<int>(rows.integer(i, 2));
    c.event.aggregate_id = rows.string(i, 3);
    c.event.payload = boost::json::parse(rows.text(i, 4));
    c.event.occurred_at = rows.string(i, 5);
    c.attempts = static_cast<int>(rows.integer(i, 6));
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.event.id < b.event.id; });
  return out;
}

asio::awaitable<std::vector<Dispatcher::Claimed>> Dispatcher::claim() {
  const int batch = options_.batch_size;
  const int lease = static_cast<int>(options_.lease.count());
  co_return co_await db_.run([batch, lease](soci::session& s) {
    pq::Params params;
    params.add(std::int64_t{lease});
    params.add(std::int64_t{batch});
    return read_claimed(pq::exec(s, kClaimSql, params));
  });
}

asio::awaitable<std::size_t> Dispatcher::dispatch_once() {
  const auto fresh = co_await deliver_fresh();
  if (fresh && *fresh > 0) co_return *fresh;
  // Events that failed before (due again), events whose lease ran out, and first attempts whose batch
  // failed as a whole: claimed with a lease and delivered one by one, so that each attempt is one call of
  // each handler and every failure is recorded.
  auto claimed = co_await claim();
  if (claimed.empty()) co_return 0;
  if (claimed.size() >= static_cast<std::size_t>(options_.batch_size)) co_await ask_for_help();
  std::vector<std::string> delivered;
  for (const auto& c : claimed) {
    if (co_await deliver(c)) delivered.push_back(c.event.id);
  }
  if (!delivered.empty()) {
    co_await db_.run([&](soci::session& s) { close_delivered(s, delivered); });
    delivered_.inc(delivered.size());
  }
  co_return claimed.size();
}

// The common case, in one transaction for a whole batch of first attempts: claimed and closed by one
// statement (kTakeFreshSql), the inbox rows of every (subscriber, event) pair in one statement, and the
// handlers of the pairs that are new (in event order, then subscription order). Per event that saves a
// lease and its second update, and a transaction's BEGIN and COMMIT. A handler that throws rolls all of it
// back. When that was the batch's only handler call (the usual case of one event with one subscriber), its
// failure is the event's first attempt and is recorded at once. Otherwise this returns nullopt: the caller
// claims the events again and delivers them one by one, which isolates the failure and records it. (So a
// handler that fails there has run twice for its first attempt, the first time rolled back.)
asio::awaitable<std::optional<std::size_t>> Dispatcher::deliver_fresh() {
  struct Pair {
    const Subscription* subscription;
    const Event* event;
  };
  struct Failure {
    Claimed claimed;
    std::pair<std::string, std::string> subscriber_error;
  };
  std::size_t taken = 0;
  std::size_t handled = 0;         // handler calls in the batch
  std::optional<Failure> failure;  // the handler that threw
  try {
    taken = co_await db_.transaction([&](Tx& tx) {
      pq::Params params;
      params.add(std::int64_t{options_.batch_size});
      const auto claimed = read_claimed(pq::exec(tx.sql(), kTakeFreshSql, params));
      std::vector<Pair> pairs;
      std::vector<std::string> subscribers, pair_events;
      for (const auto& c : claimed) {
        for (const auto& sub : subscriptions_) {
          if (sub.event_type != c.event.type) continue;
          pairs.push_back({&sub, &c.event});
          subscribers.push_back(sub.subscriber);
          pair_events.push_back(c.event.id);
        }
      }
      std::set<std::pair<std::string, std::string>> fresh;  // (subscriber, event id) not handled before
      if (!pairs.empty()) {
        pq::Params inbox;
        inbox.add(pq::array_literal(subscribers));
        inbox.add(pq::array_literal(pair_events));
        auto rows = pq::exec_prepared(tx.sql(), kInboxBatch, inbox);
        for (int i = 0; i < rows.rows(); ++i) fresh.emplace(rows.string(i, 0), rows.string(i, 1));
      }
      for (const auto& pair : pairs) {
        if (!fresh.contains({pair.subscription->subscriber, pair.event->id})) continue;
        ++handled;
        try {
          pair.subscription->handler(tx, *pair.event);
        } catch (const std::exception& e) {
          failure = Failure{Claimed{*pair.event, 0}, {pair.subscription->subscriber, e.what()}};
          throw;
        }
      }
      return claimed.size();
    });
  } catch (const std::exception& e) {
    if (!failure || handled != 1) {
      log::debug("event batch failed as a whole; delivering its events one by one", {{"error", e.what()}});
      co_return std::nullopt;
    }
  }
  if (failure) {
    // The batch ran one handler, and it threw: that was the event's first attempt, recorded as such.
    const auto& [subscriber, error] = failure->subscriber_error;
    note_handler_failure(failure->claimed.event, subscriber, error);
    const std::vector<std::pair<std::string, std::string>> failed(1, failure->subscriber_error);
    co_await record_failures(failure->claimed, std::vector<std::string>(), failed);
    co_return 1;
  }
  if (taken == 0) co_return 0;
  delivered_.inc(taken);
  if (taken >= static_cast<std::size_t>(options_.batch_size)) co_await ask_for_help();
  co_return taken;
}

asio::awaitable<bool> Dispatcher::deliver(const Claimed& claimed) {
  const Event& event = claimed.event;
  std::vector<std::pair<std::string, std::string>> failed;  // subscriber, error
  std::vector<std::string> succeeded;
  for (const auto& sub : subscriptions_) {
    if (sub.event_type != event.type) continue;
    try {
      co_await db_.transaction([&](Tx& tx) {
        pq::Params inbox;
        inbox.add(sub.subscriber);
        inbox.add(event.id);
        if (pq::exec_prepared(tx.sql(), kInbox, inbox).affected_rows() == 0) return;  // handled before: a redelivery
        sub.handler(tx, event);
      });
      succeeded.push_back(sub.subscriber);
    } catch (const std::exception& e) {
      failed.emplace_back(sub.subscriber, e.what());
      note_handler_failure(event, sub.subscriber, e.what());
    }
  }

  if (failed.empty()) co_return true;  // the caller closes it with the rest of its claim
  co_await record_failures(claimed, succeeded, failed);
  co_return false;
}

void Dispatcher::note_handler_failure(const Event& event, const std::string& subscriber, const std::string& error) {
  failures_.inc();
  log::warn("event handler failed",
            {{"event_id", event.id}, {"type", event.type}, {"subscriber", subscriber}, {"error", error}});
}

// The attempt's outcome: retried after a backoff, or dead after max_attempts, with one delivery row per
// subscriber. Only while the event is still this attempt's (pending, `attempts` as claimed, not leased by
// someone else): a first attempt's batch that failed released its row locks, and another instance may have
// taken the event since; its own attempt then stands.
asio::awaitable<void> Dispatcher::record_failures(const Claimed& claimed, const std::vector<std::string>& succeeded,
                                                  const std::vector<std::pair<std::string, std::string>>& failed) {
  const Event& event = claimed.event;
  const int attempts = claimed.attempts + 1;
  const bool dead = attempts >= options_.max_attempts;
  const auto backoff_ms = std::min<std::int64_t>(options_.backoff_base.count() << std::min(attempts - 1, 20),
                                                 3'600'000);
  co_await db_.transaction([&](Tx& tx) {
    auto& s = tx.sql();
    const std::string status = dead ? "dead" : "pending";
    const std::string error = fmt::format("{}: {}", failed.front().first, failed.front().second);
    soci::statement closed = (s.prepare << R"sql(
        UPDATE platform.outbox SET status = :st, attempts = :a, last_error = :err, locked_until = NULL,
                                   next_attempt_at = now() + make_interval(secs => :ms / 1000.0)
        WHERE id = CAST(:e AS uuid) AND status = 'pending' AND attempts = :prev)sql",
        soci::use(status), soci::use(attempts), soci::use(error), soci::use(static_cast<double>(backoff_ms)),
        soci::use(event.id), soci::use(claimed.attempts));
    closed.execute(true);
    if (closed.get_affected_rows() == 0) return;  // no longer this attempt's
    for (const auto& name : succeeded) {
      s << R"sql(UPDATE platform.deliveries SET status = 'done', updated_at = now()
                 WHERE event_id = CAST(:e AS uuid) AND subscriber = :s)sql",
          soci::use(event.id), soci::use(name);
    }
    for (const auto& [name, error] : failed) {
      const std::string delivery = dead ? "dead" : "failed";
      s << R"sql(INSERT INTO platform.deliveries (event_id, subscriber, status, attempts, last_error)
                 VALUES (CAST(:e AS uuid), :s, :st, 1, :err)
                 ON CONFLICT (event_id, subscriber) DO UPDATE
                 SET status = EXCLUDED.status, attempts = platform.deliveries.attempts + 1,
                     last_error = EXCLUDED.last_error, updated_at = now())sql",
          soci::use(event.id), soci::use(name), soci::use(delivery), soci::use(error);
    }
  });
}

asio::awaitable<void> Dispatcher::refresh_backlog_metrics() {
  auto [pending, dead] = co_await db_.run([](soci::session& s) {
    long long p = 0, d = 0;
    // IN, not <> 'delivered': two ranges of outbox_status_idx instead of the whole index.
    s << R"sql(SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead')
               FROM platform.outbox WHERE status IN ('pending', 'dead'))sql",
        soci::into(p), soci::into(d);
    return std::pair{p, d};
  });
  backlog_.set(static_cast<double>(pending));
  dead_.set(static_cast<double>(dead));
}

asio::awaitable<void> Dispatcher::purge(std::chrono::hours age) {
  const int hours = static_cast<int>(age.count());
  co_await db_.run([hours](soci::session& s) {
    s << R"sql(DELETE FROM platform.outbox WHERE status = 'delivered'
               AND delivered_at < now() - make_interval(hours => :h))sql",
        soci::use(hours);
    s << "DELETE FROM platform.inbox WHERE processed_at < now() - make_interval(hours => :h)", soci::use(hours);
  });
}

// Cross-instance wake-ups: a dedicated libpq connection LISTENs and wakes the loop on every NOTIFY (another
// instance's ask_for_help).
void Dispatcher::listen_loop() {
  PGconn* conn = nullptr;
  while (!stopping_) {
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
      if (conn) PQfinish(conn);
      conn = PQconnectdb(options_.listen_url.c_str());
      if (PQstatus(conn) != CONNECTION_OK) {
        for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      PQclear(PQexec(conn, fmt::format("LISTEN {}", kEventsChannel).c_str()));
    }
    const int fd = PQsocket(conn);
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    timeval tv{0, 200'000};  // wakes up regularly to notice stop()
    if (select(fd + 1, &fds, nullptr, nullptr, &tv) > 0) {
      PQconsumeInput(conn);
      bool notified = false;
      while (PGnotify* n = PQnotifies(conn)) {
        notified = true;
        PQfreemem(n);
      }
      if (notified) wake();
    }
  }
  if (conn) PQfinish(conn);
}

}  // namespace bazaar::platform
