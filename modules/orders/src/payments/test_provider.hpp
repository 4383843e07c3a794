#pragma once
// The built-in test provider (API.md): tok_visa succeeds, tok_declined is declined, tok_async stays
// pending until a signed webhook settles it. It keeps a ledger in orders.test_payments so that it behaves
// like a real gateway under retries and crashes (idempotent per order id, queryable by the reconciler).
#include "payments/provider.hpp"

#include <platform/db.hpp>

namespace bazaar::orders::payments {

class TestProvider final : public Provider {
 public:
  TestProvider(platform::Database& db, std::string webhook_secret, std::chrono::seconds tolerance)
      : db_(db), secret_(std::move(webhook_secret)), tolerance_(tolerance) {}

  std::string_view method() const override { return "test_card"; }
  bool settles_later(std::string_view token) const override { return token == "tok_async"; }
  boost::asio::awaitable<Authorization> authorize(AuthorizeRequest request) override;
  boost::asio::awaitable<std::optional<Authorization>> lookup(std::string order_id) override;
  boost::asio::awaitable<platform::Result<void>> capture(std::string order_id, std::int64_t amount) override;
  boost::asio::awaitable<platform::Result<void>> refund(std::string order_id, std::int64_t amount) override;
  boost::asio::awaitable<void> void_authorization(std::string order_id) override;
  platform::Result<WebhookEvent> verify_webhook(const platform::http::Request& rq,
                                                std::chrono::system_clock::time_point now) const override;
  // Settles a pending (tok_async) payment as the webhook reports it.
  boost::asio::awaitable<void> acknowledge(const WebhookEvent& event) override;

 private:
  platform::Database& db_;
  std::string secret_;
  std::chrono::seconds tolerance_;
};

// "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">" — also used by tests and the notifications webhooks.
std::string sign_payload(const std::string& secret, std::int64_t unix_time, std::string_view body);

}  // namespace bazaar::orders::payments
