#pragma once
#include <cart/cart.hpp>

#include <catalog/queries.hpp>
#include <platform/module.hpp>

#include <memory>

namespace bazaar::cart {

class CartModule : public platform::Module {
 public:
  std::string_view name() const override { return "cart"; }
  virtual Checkout& checkout() = 0;
};

std::unique_ptr<CartModule> make_module(platform::ModuleContext ctx, catalog::Queries& catalog);

}  // namespace bazaar::cart
