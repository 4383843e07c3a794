#pragma once
// The one statement that adds an event to platform.outbox: shared by Tx::publish (in a transaction) and
// pq::Pipeline::publish (in a pipelined batch), so that both write exactly the same rows.
#include <platform/events.hpp>
#include <platform/pq.hpp>

#include <boost/json/serialize.hpp>

namespace bazaar::platform::detail {

// The insert, nothing more. The publisher's own dispatcher is woken in-process after commit
// (Database::events_committed); other instances hear of work only when a dispatcher has more than it can
// claim in one pass (Dispatcher::ask_for_help). A NOTIFY here, at every commit, took PostgreSQL's
// database-wide notify lock in each publishing transaction's commit, serialising them, and woke every
// instance's listener for events the publisher was about to deliver itself: ~10% of checkout throughput.
inline constexpr pq::Prepared kOutboxInsert{"platform_outbox_insert_v2", R"sql(
    INSERT INTO platform.outbox (id, type, version, aggregate_id, payload, occurred_at)
    VALUES ($1::uuid, $2, $3::int, $4, $5::jsonb, $6::timestamptz))sql"};

inline pq::Params outbox_params(const Event& event) {
  pq::Params p;
  p.add(event.id);
  p.add(event.type);
  p.add(static_cast<std::int64_t>(event.version));
  p.add(event.aggregate_id);
  p.add(boost::json::serialize(event.payload));
  p.add(event.occurred_at);
  return p;
}

}  // namespace bazaar::platform::detail
