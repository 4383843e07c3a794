#include <platform/events.hpp>
#include <platform/ids.hpp>

namespace bazaar::platform {

Event make_event_raw(std::string type, int version, std::string aggregate_id, boost::json::value payload) {
  return Event{new_uuid_v7(), std::move(type), version, now_rfc3339(), std::move(aggregate_id), std::move(payload)};
}

boost::json::value event_to_json(const Event& e) {
  return boost::json::object{{"id", e.id},
                             {"type", e.type},
                             {"version", e.version},
                             {"occurred_at", e.occurred_at},
                             {"aggregate_id", e.aggregate_id},
                             {"payload", e.payload}};
}

}  // namespace bazaar::platform
