#pragma once
// The payment-provider interface: what a real gateway (Stripe-like: authorise, capture, refund, signed
// webhooks) implements. Every call is idempotent per order id, so a retried checkout or the reconciler
// never charges twice.
#include <platform/error.hpp>
#include <platform/http.hpp>
#include <platform/money.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace bazaar::orders::payments {

enum class Outcome { authorized, captured, pending, declined };

struct Authorization {
  Outcome outcome = Outcome::declined;
  std::string reference;  // the provider's id for the payment
  std::string message;
  std::int64_t refunded = 0;  // what the provider has given back of the payment so far (lookup)
};

struct AuthorizeRequest {
  std::string order_id;
  platform::Money amount;
  std::string token;
  bool capture = true;  // capture at once, or only authorise (capture on ship)
};

struct WebhookEvent {
  std::string id;    // "evt_…": unique, for replay protection
  std::string type;  // "payment.succeeded" | "payment.failed"
  std::string order_id;
  platform::Money amount;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view method() const = 0;  // the `payment.method` it serves, e.g. "test_card"
  // Whether a payment with this token settles later, through a webhook.
  virtual bool settles_later(std::string_view token) const = 0;
  virtual boost::asio::awaitable<Authorization> authorize(AuthorizeRequest request) = 0;
  // What the provider knows of an order's payment (the reconciler asks after a crash); nullopt: nothing.
  virtual boost::asio::awaitable<std::optional<Authorization>> lookup(std::string order_id) = 0;
  virtual boost::asio::awaitable<platform::Result<void>> capture(std::string order_id, std::int64_t amount) = 0;
  virtual boost::asio::awaitable<platform::Result<void>> refund(std::string order_id, std::int64_t amount) = 0;
  // Releases an authorisation that will not be captured (cancel before capture).
  virtual boost::asio::awaitable<void> void_authorization(std::string order_id) = 0;
  // Records what a verified webhook reports (a gateway that keeps its own state needs nothing here).
  virtual boost::asio::awaitable<void> acknowledge(const WebhookEvent& event) = 0;
  // Verifies the signature and freshness of a webhook and parses it (400 invalid_signature otherwise).
  virtual platform::Result<WebhookEvent> verify_webhook(const platform::http::Request& rq,
                                                        std::chrono::system_clock::time_point now) const = 0;
};

}  // namespace bazaar::orders::payments
