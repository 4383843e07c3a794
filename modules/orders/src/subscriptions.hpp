#pragma once
#include "service.hpp"

namespace bazaar::orders {
void register_subscriptions(platform::EventBus& bus, Service& service);
}
