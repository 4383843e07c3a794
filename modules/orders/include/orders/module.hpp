#pragma once
#include <accounts/accounts.hpp>
#include <cart/cart.hpp>
#include <catalog/inventory.hpp>
#include <catalog/queries.hpp>

#include <platform/module.hpp>

#include <memory>

namespace bazaar::orders {

class OrdersModule : public platform::Module {
 public:
  std::string_view name() const override { return "orders"; }
};

struct Dependencies {
  catalog::Queries& catalog;
  catalog::Inventory& inventory;
  cart::Checkout& carts;
  accounts::Directory& accounts;
};

// Checkout, payments (the built-in test provider and its webhook), the order lifecycle, admin order
// management and stats, the reconciler of stuck payments.
std::unique_ptr<OrdersModule> make_module(platform::ModuleContext ctx, Dependencies deps);

}  // namespace bazaar::orders
