#pragma once
// The one statement that adds an event to platform.outbox: shared by Tx::publish (in a transaction) and
// pq::Pipeline::publish (in a pipelined batch), so that both write exactly the same rows.
#include <platform/events.hpp>
#include <platform/pq.hpp>

#include <boost/json/serialize.hpp>

namespace bazaar::platform::detail {

// The insert, and a NOTIFY that wakes other instances' dispatchers at commit (NOTIFY is transactional, and
// repeated identical notifications in one transaction are folded into one). One round trip.
inline constexpr pq::Prepared kOutboxInsert{"platform_outbox_insert_v1", R"sql(
    WITH added AS (
      INSERT INTO platform.outbox (id, type, version, aggregate_id, payload, occurred_at)
      VALUES ($1::uuid, $2, $3::int, $4, $5::jsonb, $6::timestamptz)
      RETURNING id)
    SELECT count(*) FROM (SELECT pg_notify('bazaar_events', '') FROM added) notified)sql"};

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
