#pragma once
// Fault injection for the checkout's payment step: the orders module's provider, wrapped through the
// module's test seam (payments/seam.hpp) so that a test can act while a checkout waits for the provider —
// before the provider has seen the payment (it knows nothing of it yet), or after the provider has taken it
// (the money is authorised or captured, the answer not yet back at the checkout). That is where another
// path (the reconciler, a webhook, the customer) can settle the order under the checkout's feet.
//
// The test's action runs on a thread of its own while the checkout coroutine waits for it, so it may do
// what a test thread does (HTTP requests, run_job) without blocking an I/O thread, and it is sequenced
// exactly: the checkout goes on only when the action has finished. No timing is involved.
//
//   auto hook = std::make_shared<AuthorizationHook>();
//   TestApp app(testing::test_config(), [&](app::Application& a) { hook->install(a); });
//   hook->arm(AuthorizationHook::Moment::before_provider, [&](const payments::AuthorizeRequest& rq) { ... });
//   place_order(...);  // runs the action once, inside the payment step
#include "orders/orders_support.hpp"
#include "payments/seam.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace bazaar::orders_test {

namespace payments = orders::payments;

class AuthorizationHook : public std::enable_shared_from_this<AuthorizationHook> {
 public:
  enum class Moment { before_provider, after_provider };
  // Must not throw (doctest's REQUIRE included): an exception would fail the checkout with a 500. Record
  // what to check and CHECK it on the test thread after the checkout's response.
  using Action = std::function<void(const payments::AuthorizeRequest&)>;

  // Wraps the orders module's provider; from TestApp's before_start callback, before anything is served.
  void install(app::Application& application) {
    for (auto& m : application.modules) {
      if (m->name() != "orders") continue;
      dynamic_cast<payments::Seam&>(*m).decorate_provider([self = shared_from_this()](auto inner) {
        return std::unique_ptr<payments::Provider>(std::make_unique<Hooked>(std::move(inner), self));
      });
      return;
    }
    throw std::logic_error("the application has no orders module");
  }

  // Runs `action` once, at `when`, inside the next authorisation (of any order: arm it just before the
  // checkout it is meant for).
  void arm(Moment when, Action action) {
    std::lock_guard lock(mutex_);
    when_ = when;
    action_ = std::move(action);
  }

  int fired() const { return fired_.load(); }

  // From now on the provider refuses every refund (as a gateway may: a closed card, an expired capture),
  // without touching its ledger.
  void refuse_refunds() { refuse_refunds_ = true; }
  // And from now on it makes them again.
  void accept_refunds() { refuse_refunds_ = false; }
  // While set, asking the provider about a payment throws, as a gateway that cannot be reached does.
  void set_unreachable(bool unreachable) { unreachable_ = unreachable; }

 private:
  // Forwards everything to the module's own provider, with the armed action around authorize().
  class Hooked final : public payments::Provider {
   public:
    Hooked(std::unique_ptr<payments::Provider> inner, std::shared_ptr<AuthorizationHook> hook)
        : inner_(std::move(inner)), hook_(std::move(hook)) {}

    std::string_view method() const override { return inner_->method(); }
    bool settles_later(std::string_view token) const override { return inner_->settles_later(token); }
    boost::asio::awaitable<payments::Authorization> authorize(payments::AuthorizeRequest request) override {
      co_await hook_->run(Moment::before_provider, request);
      auto answer = co_await inner_->authorize(request);
      co_await hook_->run(Moment::after_provider, request);
      co_return answer;
    }
    boost::asio::awaitable<std::optional<payments::Authorization>> lookup(std::string order_id) override {
      if (hook_->unreachable_) throw std::runtime_error("the payment provider cannot be reached");
      co_return co_await inner_->lookup(std::move(order_id));
    }
    boost::asio::awaitable<platform::Result<void>> capture(std::string order_id, std::int64_t amount) override {
      return inner_->capture(std::move(order_id), amount);
    }
    boost::asio::awaitable<platform::Result<void>> refund(std::string order_id, std::int64_t amount) override {
      if (hook_->refuse_refunds_) {
        co_return platform::Error::conflict("refund_refused", "The provider refused the refund.");
      }
      co_return co_await inner_->refund(std::move(order_id), amount);
    }
    boost::asio::awaitable<void> void_authorization(std::string order_id) override {
      return inner_->void_authorization(std::move(order_id));
    }
    boost::asio::awaitable<void> acknowledge(const payments::WebhookEvent& event) override {
      return inner_->acknowledge(event);
    }
    platform::Result<payments::WebhookEvent> verify_webhook(const platform::http::Request& rq,
                                                            std::chrono::system_clock::time_point now) const override {
      return inner_->verify_webhook(rq, now);
    }

   private:
    std::unique_ptr<payments::Provider> inner_;
    std::shared_ptr<AuthorizationHook> hook_;
  };

  // The armed action, if it is for `when` (disarmed: it runs once).
  Action take(Moment when) {
    std::lock_guard lock(mutex_);
    if (!action_ || when_ != when) return {};
    return std::exchange(action_, {});
  }

  boost::asio::awaitable<void> run(Moment when, payments::AuthorizeRequest request) {
    auto action = take(when);
    if (!action) co_return;
    // On the hook's own thread; the checkout resumes on its I/O executor once the action has returned.
    co_await boost::asio::co_spawn(pool_.get_executor(), call(std::move(action), std::move(request)),
                                   boost::asio::use_awaitable);
    ++fired_;
  }

  static boost::asio::awaitable<void> call(Action action, payments::AuthorizeRequest request) {
    action(request);
    co_return;
  }

  std::mutex mutex_;
  Moment when_ = Moment::before_provider;
  Action action_;
  std::atomic<int> fired_{0};
  std::atomic<bool> refuse_refunds_{false};
  std::atomic<bool> unreachable_{false};
  boost::asio::thread_pool pool_{1};
};

}  // namespace bazaar::orders_test
