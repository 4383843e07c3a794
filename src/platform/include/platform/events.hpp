#pragma once
// Domain events. A publisher adds an event to the outbox inside its own transaction (tx.publish), so no
// event exists without its state change and no state change loses its event. The dispatcher later
// delivers it, at least once, to every subscriber; subscribers are idempotent through the inbox.
#include <boost/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace soci {
class session;
}

namespace bazaar::platform {

struct Event {
  std::string id;    // UUIDv7
  std::string type;  // "orders.order_placed"
  int version = 1;
  std::string occurred_at;  // RFC 3339
  std::string aggregate_id;
  boost::json::value payload;
};

// Builds an Event from a contract struct with kType, kVersion and a JSON mapping (tag_invoke).
Event make_event_raw(std::string type, int version, std::string aggregate_id, boost::json::value payload);
template <class Contract>
Event make_event(const Contract& contract, std::string aggregate_id) {
  return make_event_raw(std::string(Contract::kType), Contract::kVersion, std::move(aggregate_id),
                        boost::json::value_from(contract));
}
boost::json::value event_to_json(const Event& e);

class Tx;

// A subscriber handles one event inside a transaction that also records (subscriber, event id) in the
// inbox: a redelivered event is skipped, an exception rolls both back and the delivery is retried.
using EventHandler = std::function<void(Tx& tx, const Event& event)>;

struct Subscription {
  std::string subscriber;  // "notifications.order_emails": unique, stable (it keys the inbox)
  std::string event_type;
  EventHandler handler;
};

class EventBus {
 public:
  virtual ~EventBus() = default;
  virtual void subscribe(std::string subscriber, std::string event_type, EventHandler handler) = 0;
};

}  // namespace bazaar::platform
