// Reactions to other modules' events.
#include "subscriptions.hpp"

#include <accounts/events.hpp>

namespace bazaar::orders {

void register_subscriptions(platform::EventBus& bus, Service& service) {
  // A deleted customer's orders stay for the books, without their personal data.
  bus.subscribe("orders.user_deleted", accounts::UserDeleted::kType, [&service](platform::Tx& tx, const platform::Event& e) {
    service.anonymise_user(tx, boost::json::value_to<accounts::UserDeleted>(e.payload).user_id);
  });
}

}  // namespace bazaar::orders
