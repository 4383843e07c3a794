#pragma once
// Retention: the job "notifications-retention" (every notifications.retention_interval_ms) deletes sent and
// dead deliveries and read in-app messages older than notifications.retention_days, so that the tables do
// not grow without bound. Pending and failed deliveries are never deleted: they still wait for the worker
// or an admin. Each statement deletes at most notifications.retention_batch rows in its own short
// transaction (brief row locks, small WAL bursts, no contention with the worker's claims); a run stops
// after kRetentionBatchesPerRun statements per table and leaves the rest to the next run, so one run's
// work stays bounded however large the backlog is (after a long outage, or the first run on old data).
#include "settings.hpp"

#include <platform/db.hpp>

#include <boost/asio/awaitable.hpp>

namespace bazaar::notifications {

inline constexpr int kRetentionBatchesPerRun = 20;

struct PurgeReport {
  long long deliveries = 0;
  long long messages = 0;
};

boost::asio::awaitable<PurgeReport> purge_expired(platform::Database& db, const Settings& settings);

}  // namespace bazaar::notifications
