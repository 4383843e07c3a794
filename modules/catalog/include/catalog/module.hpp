#pragma once
#include <catalog/inventory.hpp>
#include <catalog/queries.hpp>

#include <platform/module.hpp>

#include <memory>

namespace bazaar::catalog {

class CatalogModule : public platform::Module {
 public:
  std::string_view name() const override { return "catalog"; }
  virtual Queries& queries() = 0;
  virtual Inventory& inventory() = 0;
};

// Registers the catalog routes (customer, admin, /media), the reservation sweeper, the cache invalidation,
// and `bazaar seed-demo`.
std::unique_ptr<CatalogModule> make_module(platform::ModuleContext ctx);

}  // namespace bazaar::catalog
