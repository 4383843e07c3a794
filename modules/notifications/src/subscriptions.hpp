#pragma once
// Reactions to the account, order and catalog events: each business moment becomes at most one message
// per channel and recipient. Handlers run inside the event's transaction and only write rows.
#include "service.hpp"

#include <platform/events.hpp>

namespace bazaar::notifications {

void register_subscriptions(platform::EventBus& bus, Service& service);

}  // namespace bazaar::notifications
