#include "retention.hpp"

#include "repository.hpp"

namespace bazaar::notifications {

namespace {

using PurgeBatch = long long (*)(soci::session&, int days, int batch);

// Batches until one comes back short (nothing older is left) or the run's bound is reached.
boost::asio::awaitable<long long> purge_table(platform::Database& db, PurgeBatch purge, int days, int batch) {
  long long total = 0;
  for (int i = 0; i < kRetentionBatchesPerRun; ++i) {
    const auto deleted = co_await db.run([&](soci::session& s) { return purge(s, days, batch); });
    total += deleted;
    if (deleted < batch) break;
  }
  co_return total;
}

}  // namespace

boost::asio::awaitable<PurgeReport> purge_expired(platform::Database& db, const Settings& settings) {
  const int days = static_cast<int>(settings.retention.count());
  PurgeReport report;
  report.deliveries = co_await purge_table(db, &repo::purge_finished_deliveries, days, settings.retention_batch);
  report.messages = co_await purge_table(db, &repo::purge_read_messages, days, settings.retention_batch);
  co_return report;
}

}  // namespace bazaar::notifications
