#pragma once
#include "service.hpp"

#include <platform/events.hpp>

namespace bazaar::cart {

void register_subscriptions(platform::EventBus& bus, Service& service);

}  // namespace bazaar::cart
