// Retention (job "notifications-retention"): sent and dead deliveries and read in-app messages older than
// notifications.retention_days go; pending and failed deliveries, unread messages and anything younger stay;
// one run deletes a bounded number of rows, oldest first. Rows are backdated in SQL, the job runs as the
// platform runs it.
#include "notifications/notifications_support.hpp"
#include "retention.hpp"
#include "support/shop.hpp"

#include <orders/events.hpp>

#include <doctest/doctest.h>

using namespace bazaar;
using namespace bazaar::notifications_test;

namespace {

constexpr int kRetentionDays = 30;

platform::Config retention_config(int batch = 1000) {
  auto c = notify_config();
  c.set("notifications.retention_days", kRetentionDays);
  c.set("notifications.retention_batch", batch);
  return c;
}

struct Backdated {
  std::string status;
  int age_days = 0;
  bool due = true;  // pending/failed: waiting for the worker (false: a render failure waiting for an admin)
};

// A delivery created `age_days` ago, in `status`. Rows waiting for the worker are due in an hour, so that no
// delivery pass in this process touches them meanwhile.
std::string insert_delivery(TestApp& app, const Backdated& d) {
  const auto id = platform::new_uuid_v7();
  const auto event_id = platform::new_uuid_v7();
  const auto recipient = "retention-" + testing::unique_suffix() + "@example.com";
  const int due = d.due ? 1 : 0;
  app.platform().db().run_sync([&](soci::session& s) {
    s << R"(INSERT INTO notifications.deliveries (id, event_id, event_type, channel, recipient, template, status,
                                                    attempts, next_attempt_at, created_at, sent_at)
            VALUES (CAST(:id AS uuid), CAST(:event AS uuid), 'orders.order_paid', 'email', :recipient,
                    'order_confirmed', :status, 1,
                    CASE WHEN :status IN ('pending', 'failed') AND :due = 1 THEN now() + interval '1 hour' END,
                    now() - make_interval(days => :age),
                    CASE WHEN :status = 'sent' THEN now() - make_interval(days => :age) END))",
        soci::use(id, "id"), soci::use(event_id, "event"), soci::use(recipient, "recipient"),
        soci::use(d.status, "status"), soci::use(due, "due"), soci::use(d.age_days, "age");
  });
  return id;
}

// An in-app message created a year ago, read `read_days_ago` days ago (negative: unread).
std::string insert_message(TestApp& app, int read_days_ago) {
  const auto id = platform::new_uuid_v7();
  const auto user = platform::new_uuid_v7();
  app.platform().db().run_sync([&](soci::session& s) {
    s << R"(INSERT INTO notifications.messages (id, user_id, type, title, body, read_at, created_at)
            VALUES (CAST(:id AS uuid), CAST(:user AS uuid), 'welcome', 'Welcome', 'Hello',
                    CASE WHEN :read >= 0 THEN now() - make_interval(days => :read) END,
                    now() - interval '365 days'))",
        soci::use(id, "id"), soci::use(user, "user"), soci::use(read_days_ago, "read");
  });
  return id;
}

bool delivery_exists(TestApp& app, const std::string& id) {
  return count_sql(app, "SELECT count(*) FROM notifications.deliveries WHERE id = CAST(:id AS uuid)", id) == 1;
}

bool message_exists(TestApp& app, const std::string& id) {
  return count_sql(app, "SELECT count(*) FROM notifications.messages WHERE id = CAST(:id AS uuid)", id) == 1;
}

}  // namespace

TEST_SUITE("db.notifications") {
  TEST_CASE("notifications: retention deletes old sent and dead deliveries and old read messages, keeps the rest") {
    TestApp app(retention_config());
    clean_slate(app);

    // A delivery the worker really sent (file transport), then aged past the retention.
    auto order = sample_order();
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    deliver(app);
    const auto worker_sent = of_channel(deliveries_of_event(app, event_id), "email").at(0);
    REQUIRE(worker_sent.status == "sent");
    exec_sql(app, "UPDATE notifications.deliveries SET created_at = now() - interval '31 days' WHERE id = '" +
                      worker_sent.id + "'");

    const auto old_sent = insert_delivery(app, {"sent", kRetentionDays + 1});
    const auto old_dead = insert_delivery(app, {"dead", 400});
    const auto old_pending = insert_delivery(app, {"pending", 400});
    const auto old_retrying = insert_delivery(app, {"failed", 400});
    const auto old_render_failure = insert_delivery(app, {"failed", 400, false});
    const auto young_sent = insert_delivery(app, {"sent", kRetentionDays - 1});
    const auto young_dead = insert_delivery(app, {"dead", 1});
    const auto read_long_ago = insert_message(app, kRetentionDays + 1);
    const auto unread = insert_message(app, -1);
    const auto read_recently = insert_message(app, kRetentionDays - 1);

    testing::run_job(app, "notifications-retention");

    CHECK_FALSE(delivery_exists(app, worker_sent.id));
    CHECK_FALSE(delivery_exists(app, old_sent));
    CHECK_FALSE(delivery_exists(app, old_dead));
    CHECK(delivery_exists(app, old_pending));
    CHECK(delivery_exists(app, old_retrying));
    CHECK(delivery_exists(app, old_render_failure));
    CHECK(delivery_exists(app, young_sent));
    CHECK(delivery_exists(app, young_dead));
    CHECK_FALSE(message_exists(app, read_long_ago));
    CHECK(message_exists(app, unread));
    CHECK(message_exists(app, read_recently));
  }

  TEST_CASE("notifications: one retention run deletes a bounded number of rows, oldest first; the next goes on") {
    constexpr int kBatch = 3;
    TestApp app(retention_config(kBatch));
    clean_slate(app);
    testing::run_job(app, "notifications-retention");  // whatever earlier tests left that is already old

    // Older than anything else in the shared database, so that these are the first the purge takes.
    constexpr int kBound = kBatch * notifications::kRetentionBatchesPerRun;
    std::vector<std::string> ids;
    for (int i = 0; i < kBound + 2; ++i) ids.push_back(insert_delivery(app, {"dead", 10'000 - i}));

    testing::run_job(app, "notifications-retention");
    for (int i = 0; i < kBound; ++i) CHECK_FALSE(delivery_exists(app, ids[i]));
    CHECK(delivery_exists(app, ids[kBound]));  // the two youngest wait for the next run
    CHECK(delivery_exists(app, ids[kBound + 1]));

    testing::run_job(app, "notifications-retention");
    CHECK_FALSE(delivery_exists(app, ids[kBound]));
    CHECK_FALSE(delivery_exists(app, ids[kBound + 1]));
  }
}
