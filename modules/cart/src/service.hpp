#pragma once
// Cart use cases. Prices and availability always come from the catalog facade, in one batch per call.
#include "domain/pricing.hpp"
#include "repository.hpp"

#include <cart/cart.hpp>
#include <catalog/queries.hpp>
#include <platform/module.hpp>

#include <chrono>

namespace bazaar::cart {

using platform::Result;
namespace asio = boost::asio;

struct Settings {
  std::string currency = "EUR";
  std::chrono::seconds abandon_after{30LL * 24 * 3600};
};

// A cart as the API shows it.
struct CartView {
  repo::CartRow cart;
  domain::PricedCart priced;
};

using Caller = std::optional<std::string>;  // the authenticated user id, if any

class Service final : public Checkout {
 public:
  Service(platform::ModuleContext& ctx, catalog::Queries& catalog, Settings settings);

  // Creates a cart: a guest cart, or the caller's — returning their open cart if they have one (created
  // is then false).
  asio::awaitable<Result<std::pair<CartView, bool>>> create(Caller caller);
  asio::awaitable<Result<CartView>> get(std::string cart_id, Caller caller);
  asio::awaitable<Result<CartView>> mine(std::string user_id);
  asio::awaitable<Result<CartView>> add_item(std::string cart_id, Caller caller, std::string variant_id, int quantity);
  asio::awaitable<Result<CartView>> set_quantity(std::string cart_id, Caller caller, std::string item_id, int quantity);
  asio::awaitable<Result<CartView>> remove_item(std::string cart_id, Caller caller, std::string item_id);
  asio::awaitable<Result<CartView>> claim(std::string cart_id, std::string user_id);

  asio::awaitable<long long> abandon_stale();
  void remove_carts_of(platform::Tx& tx, const std::string& user_id);

  // Checkout facade
  asio::awaitable<Result<CheckoutCart>> snapshot(std::string cart_id, std::optional<std::string> user_id) override;
  asio::awaitable<bool> complete(std::string cart_id, std::string order_id) override;

  const Settings& settings() const { return settings_; }

 private:
  // The cart if the caller may see it; not_found otherwise (never reveal another user's cart).
  asio::awaitable<Result<repo::CartRow>> load(const std::string& cart_id, const Caller& caller);
  asio::awaitable<std::optional<repo::CartRow>> open_cart_of(const std::string& user_id);
  // Adds to `snaps` those of `lines` whose variants were not `asked` for when `snaps` was made.
  asio::awaitable<void> complete_snapshots(const std::vector<domain::StoredLine>& lines,
                                           const std::vector<domain::StoredLine>& asked, domain::Snapshots& snaps);
  asio::awaitable<domain::Snapshots> snapshots(const std::vector<domain::StoredLine>& lines,
                                               const std::string& extra_variant = {});
  asio::awaitable<CartView> view(repo::CartRow cart);

  platform::ModuleContext& ctx_;
  catalog::Queries& catalog_;
  Settings settings_;
};

}  // namespace bazaar::cart
