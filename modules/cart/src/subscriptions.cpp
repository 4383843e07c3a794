// Reactions to other modules' events.
#include "subscriptions.hpp"

#include <accounts/events.hpp>

namespace bazaar::cart {

void register_subscriptions(platform::EventBus& bus, Service& service) {
  // A deleted customer's carts go with them (personal data).
  bus.subscribe("cart.user_deleted", accounts::UserDeleted::kType, [&service](platform::Tx& tx, const platform::Event& e) {
    const auto deleted = boost::json::value_to<accounts::UserDeleted>(e.payload);
    service.remove_carts_of(tx, deleted.user_id);
  });
}

}  // namespace bazaar::cart
