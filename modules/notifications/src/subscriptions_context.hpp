#pragma once
// Render contexts built from the order events (the shape domain::sample_context mirrors; a test keeps the
// two in step).
#include <orders/events.hpp>

#include <boost/json/object.hpp>

namespace bazaar::notifications {

// {"order": {...}, "customer": {...}} for any order message.
boost::json::object order_context(const orders::OrderSummary& order);

}  // namespace bazaar::notifications
