#pragma once
// Cross-module fixtures for cart, orders and flow tests: customers and admins, products made through the
// admin API, carts filled through the customer API. Everything goes through HTTP (the black-box way),
// except where a shortcut is the point (an admin role is granted in SQL; tokens issued without a login).
#include "support/test_env.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::testing {

struct Shopper {
  std::string id;
  std::string email;
  std::string token;
};

// A registered customer with an access token.
Shopper new_customer(TestApp& app);
// A registered user whose role is admin, with an admin token.
Shopper new_admin(TestApp& app);

struct Stock {
  std::string product_id;
  std::string variant_id;
  std::string sku;
};

// A published product with one variant at `price` (minor units, store currency) and `on_hand` units.
Stock new_product(TestApp& app, const Shopper& admin, std::int64_t price, int on_hand, const std::string& title = {});

// A guest cart (token empty) or the customer's, with the given lines; returns the cart id.
std::string new_cart(TestApp& app, const std::string& token, const std::vector<std::pair<std::string, int>>& lines);

// A checkout body for `cart_id` with an inline address, the "standard" option and `payment_token`.
boost::json::object checkout_body(const std::string& cart_id, const std::string& payment_token,
                                  const std::string& email = {});

// POST /api/v1/orders with an Idempotency-Key.
HttpResponse place_order(TestApp& app, const boost::json::object& body, const std::string& token,
                         const std::string& idempotency_key);

// Available units of a variant as the admin sees them ({on_hand, reserved, available}).
struct StockLevel {
  int on_hand = 0;
  int reserved = 0;
  int available = 0;
};
StockLevel stock_level(TestApp& app, const std::string& variant_id);

// Runs a platform job by name once, on the I/O threads (sweepers, reconcilers, delivery workers).
void run_job(TestApp& app, const std::string& name);

// The password of every user the fixtures register (for routes that ask for it, e.g. DELETE /api/v1/me).
const std::string& shopper_password();

// Another variant (unique SKU) of an existing product.
Stock new_variant(TestApp& app, const Shopper& admin, const std::string& product_id, std::int64_t price, int on_hand);

// PUT /admin/v1/variants/{variant_id}/stock {on_hand}
HttpResponse set_stock(TestApp& app, const Shopper& admin, const std::string& variant_id, int on_hand);

// Delivers the pending events of one aggregate (e.g. a user id) to their subscribers now, like
// platform().drain_events() but leaving every other pending event waiting, untouched: the backlog that other
// tests leave in the shared database is not the caller's business (and draining it can take long).
void deliver_events_of(TestApp& app, const std::string& aggregate_id);

// POST /api/v1/payments/webhook with `body`, signed like the test provider's webhooks:
// "Bazaar-Signature: t=<unix_time>,v1=<hex HMAC-SHA256 of "<t>.<body>">" with payments.webhook_secret (or
// `secret` when given). `unix_time` 0 means now.
HttpResponse send_payment_webhook(TestApp& app, const std::string& body, std::int64_t unix_time = 0,
                                  const std::string& secret = {});

}  // namespace bazaar::testing
