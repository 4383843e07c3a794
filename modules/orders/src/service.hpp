#pragma once
// Orders use cases: the checkout saga, the payment webhook, the lifecycle transitions, the reconciler,
// and the read side (customer and admin lists, stats).
#include "order_numbers.hpp"
#include "payments/provider.hpp"
#include "payments/seam.hpp"
#include "repository.hpp"

#include <orders/module.hpp>
#include <platform/module.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace bazaar::orders {

using platform::Result;
namespace asio = boost::asio;

struct ShippingOption {
  std::string id;
  std::string name;
  std::int64_t price = 0;
};

struct Settings {
  std::string currency = "EUR";
  std::vector<ShippingOption> shipping_options;
  std::chrono::seconds reservation_ttl{15 * 60};
  std::chrono::seconds pending_payment_timeout{30 * 60};  // reconciler cancels unpaid orders after this
  bool capture_on_ship = false;                            // else capture at once
  std::chrono::seconds give_back_retry{5 * 60};  // first retry of a refused give-back refund, then doubling
};

struct CheckoutResult {
  repo::OrderRow order;
  std::optional<std::string> guest_token;  // only when the order was created by this request
};

// Statements the caller adds to the checkout's last write, given the result the checkout then returns: they
// commit with the order's final bookkeeping or not at all, without a round trip of their own (the route
// stores its response under the request's Idempotency-Key). Not called when the checkout fails, when its
// payment stays pending, or when there is nothing left to write; the caller then does its own writes.
using LastWrite = std::function<void(const CheckoutResult& result, platform::pq::Pipeline& batch)>;

struct CheckoutInput {
  std::string cart_id;
  std::optional<std::string> email;
  std::optional<boost::json::object> address_fields;
  std::optional<std::string> address_id;
  std::string shipping_option_id;
  std::string payment_method;
  std::string token;
  std::optional<std::string> user_id;
  std::optional<std::string> idempotency_key;
  LastWrite last_write;
};

class Service {
 public:
  Service(platform::ModuleContext& ctx, Dependencies deps, Settings settings, std::unique_ptr<payments::Provider> provider);

  asio::awaitable<Result<CheckoutResult>> checkout(CheckoutInput in);
  asio::awaitable<Result<void>> handle_webhook(const platform::http::Request& rq);

  // Customer views: their own orders, or a guest order with its token. Anything else is not_found.
  asio::awaitable<Result<repo::OrderRow>> order_for(std::string order_id, std::optional<std::string> user_id,
                                                    std::optional<std::string> guest_token);
  asio::awaitable<std::vector<repo::OrderRow>> list(repo::OrderFilter filter);
  asio::awaitable<Result<repo::OrderRow>> order_for_admin(std::string order_id);
  asio::awaitable<std::vector<repo::HistoryEntry>> history(std::string order_id);
  asio::awaitable<boost::json::object> stats(std::string from, std::string to);

  asio::awaitable<Result<repo::OrderRow>> cancel_by_customer(std::string order_id, std::optional<std::string> user_id,
                                                             std::optional<std::string> guest_token);
  asio::awaitable<Result<repo::OrderRow>> ship(const platform::http::Request& rq, std::string order_id,
                                               std::string carrier, std::string tracking_number);
  asio::awaitable<Result<repo::OrderRow>> deliver(const platform::http::Request& rq, std::string order_id);
  asio::awaitable<Result<repo::OrderRow>> refund(const platform::http::Request& rq, std::string order_id,
                                                 std::optional<std::int64_t> amount, std::string reason);

  // Settles what crashes left behind: unpaid orders past the timeout, paid/cancelled orders whose stock or
  // cart step did not finish, and payments taken after cancellation whose refund the provider refused
  // (asked again when due). One order's failure is logged and left for a later pass. Returns how many
  // orders it settled.
  asio::awaitable<int> reconcile();

  const Settings& settings() const { return settings_; }
  payments::Provider& provider() { return *provider_; }
  // The test seam (payments/seam.hpp): only before the application serves, never while a request may use it.
  void decorate_provider(const payments::Decorator& decorate) { provider_ = decorate(std::move(provider_)); }
  void anonymise_user(platform::Tx& tx, const std::string& user_id);
  asio::awaitable<boost::json::value> export_user(std::string user_id);

 private:
  // The caller's LastWrite for the order a checkout is about to return.
  using OrderLastWrite = std::function<void(const repo::OrderRow& order, platform::pq::Pipeline& batch)>;

  // Finishes a checkout from wherever the order stands (also used to resume a retried checkout).
  asio::awaitable<Result<repo::OrderRow>> pay(repo::OrderRow order, std::string token, OrderLastWrite last_write = {});
  asio::awaitable<Result<CheckoutResult>> resume_checkout(const CheckoutInput& in, std::string otherwise);
  Result<void> price_lines(const cart::CheckoutCart& cart, const std::vector<catalog::VariantSnapshot>& snaps,
                           repo::OrderRow& order) const;
  asio::awaitable<repo::OrderRow> mark_paid_at_checkout(repo::OrderRow order, std::string reference, bool captured);
  asio::awaitable<repo::OrderRow> mark_paid(std::string order_id, std::string reference, bool captured,
                                            std::string note);
  asio::awaitable<repo::OrderRow> give_back_payment(repo::OrderRow order, bool captured);
  asio::awaitable<repo::OrderRow> record_refund_outcome(repo::OrderRow order, std::string found_payment_status,
                                                        const Result<void>& refunded);
  asio::awaitable<repo::OrderRow> record_give_back(repo::OrderRow order, std::string found_payment_status,
                                                   std::string note, std::optional<std::int64_t> retry_in = {});
  asio::awaitable<void> retry_give_back(std::string order_id);
  asio::awaitable<void> settle_unpaid(std::string order_id);
  asio::awaitable<void> finish_saga(std::string order_id);
  void note_refused_give_back(const std::string& order_id, const std::string& error);
  void count_paid(const repo::OrderRow& order);
  asio::awaitable<repo::OrderRow> mark_cancelled(std::string order_id, std::string reason, std::string payment_status,
                                                 std::string actor);
  asio::awaitable<void> finish_side_effects(const repo::OrderRow& order, const OrderLastWrite& last_write = {});
  asio::awaitable<std::string> settle_stock(repo::OrderRow order);
  asio::awaitable<bool> settle_cart(repo::OrderRow order);

  platform::ModuleContext& ctx_;
  Dependencies deps_;
  Settings settings_;
  std::unique_ptr<payments::Provider> provider_;
  OrderNumbers numbers_;
};

OrderSummary summary_of(const repo::OrderRow& o);

}  // namespace bazaar::orders
