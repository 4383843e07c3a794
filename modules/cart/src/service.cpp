#include "service.hpp"

#include <platform/ids.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace bazaar::cart {

using platform::Errc;
using platform::Error;

namespace {
Error cart_not_found() { return Error::not_found("The cart does not exist."); }
Error cart_not_open(const std::string& status) {
  return Error::conflict("cart_not_open", fmt::format("The cart is {} and can no longer change.", status));
}
Error insufficient_stock(const std::string& title, int available) {
  return Error::conflict("insufficient_stock", fmt::format("Only {} of {} are available.", std::max(available, 0), title));
}
}  // namespace

Service::Service(platform::ModuleContext& ctx, catalog::Queries& catalog, Settings settings)
    : ctx_(ctx), catalog_(catalog), settings_(std::move(settings)) {}

asio::awaitable<Result<repo::CartRow>> Service::load(const std::string& cart_id, const Caller& caller) {
  auto cart = co_await repo::find_cart(ctx_.db(), cart_id);
  if (!cart) co_return cart_not_found();
  if (cart->user_id && (!caller || *caller != *cart->user_id)) co_return cart_not_found();
  co_return std::move(*cart);
}

asio::awaitable<domain::Snapshots> Service::snapshots(const std::vector<domain::StoredLine>& lines,
                                                      const std::string& extra_variant) {
  std::vector<std::string> ids;
  ids.reserve(lines.size() + 1);
  for (const auto& l : lines) ids.push_back(l.variant_id);
  if (!extra_variant.empty()) ids.push_back(extra_variant);
  domain::Snapshots out;
  if (ids.empty()) co_return out;
  for (auto& snap : co_await catalog_.variants(std::move(ids))) out.emplace(snap.variant_id, std::move(snap));
  co_return out;
}

asio::awaitable<CartView> Service::view(repo::CartRow cart) {
  auto snaps = co_await snapshots(cart.lines);
  auto priced = domain::price(cart.lines, snaps);
  co_return CartView{std::move(cart), std::move(priced)};
}

asio::awaitable<std::optional<repo::CartRow>> Service::open_cart_of(const std::string& user_id) {
  co_return co_await repo::find_open_cart(ctx_.db(), user_id);
}

asio::awaitable<Result<std::pair<CartView, bool>>> Service::create(Caller caller) {
  if (caller) {
    if (auto existing = co_await open_cart_of(*caller)) co_return std::pair{co_await view(std::move(*existing)), false};
  }
  const std::string id = platform::new_uuid_v7();
  std::optional<repo::CartRow> created;
  try {
    created = co_await repo::insert_cart(ctx_.db(), id, caller, settings_.currency);
  } catch (const std::exception& e) {
    // A concurrent create for the same customer won the one-open-cart index: return that cart.
    if (!caller || !platform::is_unique_violation(e)) throw;
  }
  if (created) co_return std::pair{CartView{std::move(*created), {}}, true};  // empty: nothing to price
  auto existing = co_await open_cart_of(*caller);
  if (!existing) co_return Error::conflict("cart_changed", "The cart changed at the same time; try again.");
  co_return std::pair{co_await view(std::move(*existing)), false};
}

asio::awaitable<Result<CartView>> Service::get(std::string cart_id, Caller caller) {
  auto cart = co_await load(cart_id, caller);
  if (!cart) co_return cart.error();
  co_return co_await view(std::move(*cart));
}

asio::awaitable<Result<CartView>> Service::mine(std::string user_id) {
  auto cart = co_await open_cart_of(user_id);
  if (!cart) co_return Error::not_found("You have no open cart.");
  co_return co_await view(std::move(*cart));
}

asio::awaitable<Result<CartView>> Service::add_item(std::string cart_id, Caller caller, std::string variant_id,
                                                    int quantity) {
  auto cart = co_await load(cart_id, caller);
  if (!cart) co_return cart.error();
  if (cart->status != "open") co_return cart_not_open(cart->status);
  auto existing = std::find_if(cart->lines.begin(), cart->lines.end(),
                               [&](const auto& l) { return l.variant_id == variant_id; });
  if (existing == cart->lines.end() && cart->lines.size() >= domain::kMaxLines) {
    co_return Error::validation("variant_id", fmt::format("a cart holds at most {} lines", domain::kMaxLines));
  }
  auto snaps = co_await snapshots(cart->lines, variant_id);
  auto snap = snaps.find(variant_id);
  if (snap == snaps.end() || !snap->second.purchasable) {
    co_return Error::validation("variant_id", "does not exist or is not for sale");
  }
  const int current = existing == cart->lines.end() ? 0 : existing->quantity;
  if (current + quantity > domain::kMaxQuantity) {
    co_return Error::validation("quantity", fmt::format("a line holds at most {} units", domain::kMaxQuantity));
  }
  if (current + quantity > snap->second.available) {
    co_return insufficient_stock(snap->second.title, snap->second.available);
  }
  const domain::StoredLine line{{}, variant_id, snap->second.product_id, snap->second.sku, snap->second.title, quantity,
                                snap->second.price.amount};
  auto added = co_await repo::add_quantity(ctx_.db(), cart_id, line);
  if (!added) co_return Error::conflict("cart_changed", "The cart changed at the same time; try again.");
  co_await complete_snapshots(added->lines, cart->lines, snaps);
  auto priced = domain::price(added->lines, snaps);
  co_return CartView{std::move(*added), std::move(priced)};
}

asio::awaitable<void> Service::complete_snapshots(const std::vector<domain::StoredLine>& lines,
                                                  const std::vector<domain::StoredLine>& asked, domain::Snapshots& snaps) {
  // Only a line that a concurrent request added since the cart was read can be missing: that rare race
  // costs one more look-up, instead of an unavailable warning for a line that is fine. (A variant that was
  // asked for and is absent is unknown to the catalog: asking again would not change that.)
  std::vector<domain::StoredLine> missing;
  for (const auto& l : lines) {
    const bool was_asked = std::any_of(asked.begin(), asked.end(), [&](const auto& a) { return a.variant_id == l.variant_id; });
    if (!was_asked && !snaps.contains(l.variant_id)) missing.push_back(l);
  }
  if (missing.empty()) co_return;
  for (auto& [id, snap] : co_await snapshots(missing)) snaps.emplace(id, std::move(snap));
}

asio::awaitable<Result<CartView>> Service::set_quantity(std::string cart_id, Caller caller, std::string item_id,
                                                        int quantity) {
  if (quantity == 0) co_return co_await remove_item(std::move(cart_id), std::move(caller), std::move(item_id));
  auto cart = co_await load(cart_id, caller);
  if (!cart) co_return cart.error();
  if (cart->status != "open") co_return cart_not_open(cart->status);
  auto line = std::find_if(cart->lines.begin(), cart->lines.end(), [&](const auto& l) { return l.id == item_id; });
  if (line == cart->lines.end()) co_return Error::not_found("The cart has no such item.");
  auto snaps = co_await snapshots(cart->lines);
  auto snap = snaps.find(line->variant_id);
  if (snap == snaps.end() || !snap->second.purchasable) {
    co_return Error::conflict("unavailable", fmt::format("{} is no longer available.", line->title));
  }
  if (quantity > line->quantity && quantity > snap->second.available) {
    co_return insufficient_stock(line->title, snap->second.available);
  }
  auto updated_at = co_await repo::set_quantity(ctx_.db(), cart_id, item_id, quantity);
  if (!updated_at) co_return Error::not_found("The cart has no such item.");  // removed meanwhile
  cart->updated_at = std::move(*updated_at);
  line->quantity = quantity;
  auto priced = domain::price(cart->lines, snaps);
  co_return CartView{std::move(*cart), std::move(priced)};
}

asio::awaitable<Result<CartView>> Service::remove_item(std::string cart_id, Caller caller, std::string item_id) {
  auto cart = co_await load(cart_id, caller);
  if (!cart) co_return cart.error();
  if (cart->status != "open") co_return cart_not_open(cart->status);
  const auto touched = co_await repo::delete_item(ctx_.db(), cart_id, item_id);
  if (!touched) co_return Error::not_found("The cart has no such item.");
  cart->updated_at = *touched;  // the response shows the cart as it now is
  std::erase_if(cart->lines, [&](const auto& l) { return l.id == item_id; });
  co_return co_await view(std::move(*cart));
}

asio::awaitable<Result<CartView>> Service::claim(std::string cart_id, std::string user_id) {
  auto guest = co_await repo::find_cart(ctx_.db(), cart_id);
  if (!guest) co_return cart_not_found();
  if (guest->user_id) {
    if (*guest->user_id != user_id) co_return cart_not_found();
    co_return co_await view(std::move(*guest));  // already the caller's: nothing to do
  }
  if (guest->status != "open") co_return cart_not_open(guest->status);

  auto target = co_await open_cart_of(user_id);
  if (!target) {
    bool assigned = false;
    try {
      assigned = co_await repo::assign_owner(ctx_.db(), cart_id, user_id);
    } catch (const std::exception& e) {
      if (!platform::is_unique_violation(e)) throw;  // an open cart appeared meanwhile: merge below
    }
    if (assigned) co_return co_await get(cart_id, user_id);
    target = co_await open_cart_of(user_id);
    if (!target) co_return Error::conflict("cart_changed", "The cart changed at the same time; try again.");
  }
  const std::string target_id = target->id;
  std::vector<domain::StoredLine> all = target->lines;
  all.insert(all.end(), guest->lines.begin(), guest->lines.end());
  auto snaps = co_await snapshots(all);

  // Quantities add up, capped by availability (and the per-line maximum); what was capped is reported.
  std::vector<domain::Warning> merge_warnings;
  std::vector<std::string> warned_variants;  // per merge warning: the variant whose merged line it is about
  std::vector<domain::StoredLine> writes;
  std::size_t line_count = target->lines.size();
  for (const auto& g : guest->lines) {
    auto snap = snaps.find(g.variant_id);
    if (snap == snaps.end() || !snap->second.purchasable) {
      merge_warnings.push_back({g.id, "unavailable", fmt::format("{} is no longer available and was not moved.", g.title)});
      warned_variants.emplace_back();
      continue;
    }
    auto mine = std::find_if(target->lines.begin(), target->lines.end(),
                             [&](const auto& l) { return l.variant_id == g.variant_id; });
    const int before = mine == target->lines.end() ? 0 : mine->quantity;
    if (mine == target->lines.end() && line_count >= domain::kMaxLines) {
      merge_warnings.push_back({g.id, "unavailable", "The cart is full; the line was not moved."});
      warned_variants.emplace_back();
      continue;
    }
    const int merged = domain::merged_quantity(before, g.quantity, snap->second.available);
    if (merged < before + g.quantity) {
      merge_warnings.push_back({g.id, "insufficient_stock",
                                fmt::format("Only {} of {} could be kept.", merged, snap->second.title)});
      warned_variants.push_back(g.variant_id);
    }
    if (merged <= before) continue;
    if (mine == target->lines.end()) ++line_count;
    writes.push_back({{}, g.variant_id, snap->second.product_id, snap->second.sku, snap->second.title, merged,
                      snap->second.price.amount});
  }
  co_await ctx_.db().transaction([&](platform::Tx& tx) {
    for (const auto& w : writes) repo::put_line(tx.sql(), target_id, w);
    repo::delete_cart(tx.sql(), cart_id);  // the guest cart stops existing once merged
    repo::touch(tx.sql(), target_id);
  });
  auto merged_cart = co_await get(target_id, user_id);
  if (!merged_cart) co_return merged_cart.error();
  // A capped line lives on in the merged cart: its warning names that line, not the deleted guest line.
  for (std::size_t i = 0; i < merge_warnings.size(); ++i) {
    auto& w = merge_warnings[i];
    if (!warned_variants[i].empty()) {
      const auto& lines = merged_cart->cart.lines;
      auto line = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.variant_id == warned_variants[i]; });
      if (line != lines.end()) w.item_id = line->id;
    }
    merged_cart->priced.warnings.push_back(std::move(w));
  }
  co_return merged_cart;
}

asio::awaitable<long long> Service::abandon_stale() {
  const auto seconds = settings_.abandon_after.count();
  // On the worker pool: a sweep can take a while, and on an I/O thread's shared, pipelined connection it
  // would hold up every request queued behind it there.
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::abandon_stale(s, seconds); });
}

void Service::remove_carts_of(platform::Tx& tx, const std::string& user_id) { repo::delete_carts_of_user(tx.sql(), user_id); }

asio::awaitable<Result<CheckoutCart>> Service::snapshot(std::string cart_id, std::optional<std::string> user_id) {
  if (!platform::is_uuid(cart_id)) co_return cart_not_found();
  auto cart = co_await load(cart_id, user_id);
  if (!cart) co_return cart.error();
  CheckoutCart out{cart->id, cart->user_id, cart->status, cart->order_id, {}};
  for (const auto& l : cart->lines) out.lines.push_back({l.variant_id, l.quantity});
  co_return out;
}

asio::awaitable<bool> Service::complete(std::string cart_id, std::string order_id) {
  co_return co_await repo::complete(ctx_.db(), cart_id, order_id);
}

}  // namespace bazaar::cart
