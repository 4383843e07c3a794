#pragma once
// The orders module's one test seam: a way to wrap the payment provider it built (the built-in test
// provider) in a decorator — for tests that must act at a precise moment of a payment, e.g. settle an order
// elsewhere while the checkout is still waiting for the provider's answer, which no HTTP request can time.
//
// It is private (src/), so no other module can reach it: the composed module implements it besides its
// public OrdersModule face, and a test of this module, which may include the module's src/, gets it with
// dynamic_cast<payments::Seam&>(module) from TestApp's before_start callback. Not a global, and nothing in
// production calls it.
#include "payments/provider.hpp"

#include <functional>
#include <memory>

namespace bazaar::orders::payments {

// Given the module's provider, returns the one the module uses from then on (usually wrapping `inner`).
using Decorator = std::function<std::unique_ptr<Provider>(std::unique_ptr<Provider> inner)>;

class Seam {
 public:
  virtual ~Seam() = default;
  // Only before the application starts serving: nothing may be using the provider while it is replaced.
  virtual void decorate_provider(const Decorator& decorate) = 0;
};

}  // namespace bazaar::orders::payments
