#include "service.hpp"

#include "domain/slug.hpp"
#include "domain/stock.hpp"

#include <catalog/events.hpp>
#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>
#include <platform/security.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <functional>

namespace bazaar::catalog {

using platform::Errc;
using platform::Error;
using platform::ErrorException;
using platform::Tx;
using repo::View;
namespace json = boost::json;

namespace {

constexpr int kSlugAttempts = 3;  // derived slugs: a concurrent writer may take the one we picked

Error product_not_found() { return Error::not_found("The product does not exist."); }
Error variant_not_found() { return Error::not_found("The variant does not exist."); }
Error category_not_found() { return Error::not_found("The category does not exist."); }
Error slug_taken() { return Error::conflict("slug_taken", "Another product already uses this slug."); }
Error stock_below_reserved(int reserved) {
  return Error::conflict("stock_below_reserved",
                         "on_hand cannot be set below the " + std::to_string(reserved) + " units reserved by orders.");
}

// Maps the SQLSTATE of a failed transaction to a client error, or nullopt to let the exception through.
using ErrorMap = std::function<std::optional<Error>(const std::string& sqlstate)>;

// Runs f(Tx&) -> T in one transaction. An ErrorException thrown inside rolls back and becomes the error;
// `map` recognises expected constraint violations (duplicate slug or SKU, unknown category).
template <class T, class F>
asio::awaitable<Result<T>> transact(platform::Database& db, F f, ErrorMap map = {}) {
  std::optional<T> value;
  std::optional<Error> error;
  try {
    value.emplace(co_await db.transaction(std::move(f)));
  } catch (const ErrorException& e) {
    error = e.error();
  } catch (const std::exception& e) {
    auto mapped = map ? map(platform::sqlstate_of(e)) : std::nullopt;
    if (!mapped) throw;
    error = std::move(*mapped);
  }
  if (error) co_return std::move(*error);
  co_return std::move(*value);
}

[[noreturn]] void fail(Error e) { throw ErrorException(std::move(e)); }

// The first free slug among base, base-2, base-3, ... (asked in batches against the unique index).
template <class Taken>
std::string free_slug(const std::string& base, Taken taken) {
  constexpr int kBatch = 20;
  for (int from = 1;; from += kBatch) {
    const auto candidates = domain::slug_candidates(base, from, kBatch);
    if (auto free = domain::first_free(candidates, taken(candidates))) return *free;
  }
}

json::value changed(const std::string& from, const std::string& to) { return json::object{{"from", from}, {"to", to}}; }

// The customer reads' loads (Service::cached). Each is one statement on the calling I/O thread's own
// connection (repo's Database& overloads).
asio::awaitable<std::optional<std::string>> load_product(platform::Database& db, std::string ref) {
  auto text = co_await repo::product_json(db, ref, View::customer);
  if (!text) co_return std::nullopt;
  co_return compact_json(*text);
}

asio::awaitable<std::optional<std::string>> load_products(platform::Database& db, domain::ListQuery query) {
  auto page = co_await repo::list_products(db, query);
  for (auto& item : page.items) item = compact_json(item);
  std::optional<std::string> cursor;
  if (page.next_id) cursor = domain::encode_list_cursor(query.sort, page.next_key.value_or(""), *page.next_id);
  co_return page_body(page.items, cursor);
}

asio::awaitable<std::optional<std::string>> load_categories(platform::Database& db) {
  auto rows = co_await repo::all_categories(db);
  co_return json::serialize(json::object{{"items", category_forest(rows)}});
}

}  // namespace

Settings settings_from(const platform::Config& c) {
  Settings s;
  s.store_currency = c.string("store.currency", "EUR");
  if (!platform::is_currency_code(s.store_currency)) {
    throw platform::ConfigError("store.currency must be an ISO 4217 code such as \"EUR\"");
  }
  s.low_stock_threshold = static_cast<int>(c.integer("catalog.low_stock_threshold", 5, 0, 1'000'000));
  s.cache_enabled = c.boolean("catalog.cache_enabled", true);
  s.cache_ttl = c.millis("catalog.cache_ttl_ms", 2000);
  if (s.cache_ttl.count() <= 0) throw platform::ConfigError("catalog.cache_ttl_ms must be positive");
  s.cache_max_bytes =
      static_cast<std::size_t>(c.integer("catalog.cache_max_bytes", 64LL << 20, 1LL << 20, 64LL << 30));
  s.sweep_interval = c.millis("catalog.reservation_sweep_interval_ms", 30000);
  if (s.sweep_interval.count() <= 0) throw platform::ConfigError("catalog.reservation_sweep_interval_ms must be positive");
  s.sweep_batch = static_cast<int>(c.integer("catalog.reservation_sweep_batch", 500, 1, 100000));
  s.media_dir = c.string("media.dir", ".local/media");
  if (s.media_dir.empty()) throw platform::ConfigError("media.dir must name a directory");
  return s;
}

Service::Service(platform::ModuleContext& ctx, const Settings& settings, platform::ResponseCache& cache,
                 MediaStorage& media, platform::WorkerPool& media_pool)
    : ctx_(ctx), settings_(settings), cache_(cache), media_(media), media_pool_(media_pool) {}

void Service::invalidate_after_commit(Tx& tx) {
  tx.after_commit([this] { cache_.invalidate_all(); });
}

template <class Load>
asio::awaitable<Service::Body> Service::cached(std::string key, Load load) {
  if (!settings_.cache_enabled) {
    std::optional<std::string> text = co_await load();
    co_return text ? std::make_shared<const std::string>(std::move(*text)) : nullptr;
  }
  // A hit, or an expired entry that another request is reloading right now: serve what is there.
  auto found = cache_.lookup(key);
  if (found.body && !found.refresh) co_return found.body;
  // An expired entry this request was chosen to reload: it still serves the previous body at once, and the
  // reload runs in the background. No request waits for a refresh; only a true miss waits for its load.
  if (found.body) {
    asio::co_spawn(co_await asio::this_coro::executor, refresh(std::move(key), std::move(load)), asio::detached);
    co_return found.body;
  }
  // A miss: the first request loads, the ones arriving meanwhile wait for its result.
  LoadCoalescer::Ticket ticket = loads_.join(key);
  if (!ticket.leader) {
    if (auto shared = co_await LoadCoalescer::wait(ticket.flight)) co_return *shared;
    ticket = {};  // the leader failed: try on our own (and fail on our own)
  }
  // Read before loading: an invalidation that lands while we load makes put() drop the possibly old value.
  const auto generation = cache_.generation();
  std::optional<std::string> text;
  try {
    text = co_await load();
  } catch (...) {
    if (ticket.leader) loads_.finish(key, ticket.flight, nullptr, true);
    throw;
  }
  Body body = text ? std::make_shared<const std::string>(std::move(*text)) : nullptr;
  if (body) cache_.put(key, body, generation);
  if (ticket.leader) loads_.finish(key, ticket.flight, body, false);
  co_return body;
}

template <class Load>
asio::awaitable<void> Service::refresh(std::string key, Load load) {
  const auto generation = cache_.generation();
  try {
    std::optional<std::string> text = co_await load();
    // Gone meanwhile: the stale entry expires on its own; the next request after that misses and loads.
    if (text) cache_.put(std::move(key), std::make_shared<const std::string>(std::move(*text)), generation);
  } catch (const std::exception& e) {
    // Another request is chosen to reload once the entry's grace period ends; until then it stays stale.
    platform::log::warn("catalog: cache refresh failed", {{"key", key}, {"error", e.what()}});
  }
}

// ------------------------------------------------------------------------------------------ customer reads

asio::awaitable<Service::Body> Service::product(std::string ref) {
  if (auto id = platform::normalize_uuid(ref)) {
    ref = *id;
  } else if (!domain::is_valid_slug(ref)) {
    co_return nullptr;  // no slug looks like this: nothing to ask the database
  }
  // Named, not a temporary in the co_await: GCC 12 destroys temporaries passed to coroutines twice. Not a
  // coroutine itself: it starts one that owns copies of its arguments (CP.51).
  auto load = [&db = ctx_.db(), ref] { return load_product(db, ref); };
  std::string key = "product|" + ref;
  co_return co_await cached(std::move(key), std::move(load));
}

asio::awaitable<Service::Body> Service::products(domain::ListQuery query) {
  std::string key = query.cache_key();
  auto load = [&db = ctx_.db(), query] { return load_products(db, query); };
  co_return co_await cached(std::move(key), std::move(load));
}

asio::awaitable<Service::Body> Service::categories() {
  auto load = [&db = ctx_.db()] { return load_categories(db); };
  std::string key = "categories";
  co_return co_await cached(std::move(key), std::move(load));
}

// ------------------------------------------------------------------------------------------- admin reads

asio::awaitable<Result<std::string>> Service::admin_product(std::string id) {
  auto text = co_await repo::product_json(ctx_.db(), id, View::admin);
  if (!text) co_return product_not_found();
  co_return compact_json(*text);
}

asio::awaitable<std::string> Service::admin_products(domain::AdminListQuery query) {
  auto page = co_await ctx_.db().run([&](soci::session& s) { return repo::list_products_admin(s, query); });
  for (auto& item : page.items) item = compact_json(item);
  std::optional<std::string> cursor;
  if (page.next_id) cursor = domain::encode_admin_cursor(*page.next_id);
  co_return page_body(page.items, cursor);
}

asio::awaitable<std::string> Service::low_stock(domain::LowStockQuery query) {
  auto page = co_await ctx_.db().run([&](soci::session& s) { return repo::list_low_stock(s, query); });
  for (auto& item : page.items) item = compact_json(item);
  std::optional<std::string> cursor;
  if (page.next_id) cursor = domain::encode_low_stock_cursor(std::stoll(page.next_key.value_or("0")), *page.next_id);
  co_return page_body(page.items, cursor);
}

// ------------------------------------------------------------------------------------------ admin writes

asio::awaitable<Result<std::string>> Service::create_product(const Rq& rq, ProductInput in) {
  const std::string id = platform::new_uuid_v7();
  const bool derived = !in.slug;
  const std::string base = in.slug ? *in.slug : domain::slugify(*in.title, "product");
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return slug_taken();
    if (state == "23503") return Error::validation("category_ids", "names a category that does not exist");
    return std::nullopt;
  };
  for (int attempt = 1;; ++attempt) {
    auto created = co_await transact<std::string>(
        ctx_.db(),
        [&](Tx& tx) {
          repo::ProductFields f{*in.title, base, in.description.value_or(""), in.status.value_or("draft")};
          if (derived) f.slug = free_slug(base, [&](const auto& c) { return repo::taken_product_slugs(tx.sql(), c); });
          repo::insert_product(tx.sql(), id, f);
          if (in.category_ids) repo::replace_product_categories(tx.sql(), id, *in.category_ids);
          if (f.status == "published") tx.publish(ProductPublished{id, f.slug, f.title}, id);
          platform::record_audit(tx, rq, {"catalog.product.create", "product", id,
                                          {{"slug", f.slug}, {"title", f.title}, {"status", f.status}}});
          invalidate_after_commit(tx);
          return compact_json(*repo::product_json(tx.sql(), id, View::admin));
        },
        map);
    // A derived slug that a concurrent writer took first: pick again.
    if (!created && derived && created.error().slug == "slug_taken" && attempt < kSlugAttempts) continue;
    co_return created;
  }
}

asio::awaitable<Result<std::string>> Service::update_product(const Rq& rq, std::string id, ProductInput patch) {
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return slug_taken();
    if (state == "23503") return Error::validation("category_ids", "names a category that does not exist");
    return std::nullopt;
  };
  co_return co_await transact<std::string>(
      ctx_.db(),
      [&](Tx& tx) {
        auto current = repo::lock_product(tx.sql(), id);
        if (!current) fail(product_not_found());
        repo::ProductFields next = *current;
        json::object changes;
        if (patch.title && *patch.title != next.title) {
          changes["title"] = changed(next.title, *patch.title);
          next.title = *patch.title;
        }
        if (patch.slug && *patch.slug != next.slug) {
          changes["slug"] = changed(next.slug, *patch.slug);
          next.slug = *patch.slug;
        }
        if (patch.description && *patch.description != next.description) {
          changes["description"] = "changed";
          next.description = *patch.description;
        }
        if (patch.status && *patch.status != next.status) {
          changes["status"] = changed(next.status, *patch.status);
          next.status = *patch.status;
        }
        repo::update_product(tx.sql(), id, next);
        if (patch.category_ids) {
          repo::replace_product_categories(tx.sql(), id, *patch.category_ids);
          changes["category_ids"] = json::value_from(*patch.category_ids);
        }
        if (next.status != current->status && next.status == "published") {
          tx.publish(ProductPublished{id, next.slug, next.title}, id);
        } else if (next.status != current->status && next.status == "archived") {
          tx.publish(ProductArchived{id, next.slug}, id);
        } else {
          tx.publish(ProductUpdated{id, next.slug, next.status}, id);
        }
        platform::record_audit(tx, rq, {"catalog.product.update", "product", id, std::move(changes)});
        invalidate_after_commit(tx);
        return compact_json(*repo::product_json(tx.sql(), id, View::admin));
      },
      map);
}

asio::awaitable<Result<void>> Service::archive_product(const Rq& rq, std::string id) {
  auto done = co_await transact<bool>(ctx_.db(), [&](Tx& tx) {
    auto current = repo::lock_product(tx.sql(), id);
    if (!current) fail(product_not_found());
    if (current->status == "archived") return true;  // DELETE is idempotent: already archived
    repo::ProductFields next = *current;
    next.status = "archived";
    repo::update_product(tx.sql(), id, next);
    tx.publish(ProductArchived{id, next.slug}, id);
    platform::record_audit(tx, rq, {"catalog.product.archive", "product", id, {{"status", changed(current->status, "archived")}}});
    invalidate_after_commit(tx);
    return true;
  });
  if (!done) co_return done.error();
  co_return Result<void>{};
}

asio::awaitable<Result<std::string>> Service::create_variant(const Rq& rq, std::string product_id, VariantInput in) {
  const std::string id = platform::new_uuid_v7();
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return Error::conflict("sku_taken", "Another variant already uses this SKU.");
    return std::nullopt;
  };
  co_return co_await transact<std::string>(
      ctx_.db(),
      [&](Tx& tx) {
        auto product = repo::lock_product(tx.sql(), product_id);  // serialises the price summary
        if (!product) fail(product_not_found());
        repo::VariantFields f{*in.sku, *in.title, in.options_json.value_or("{}"), in.price->amount,
                              in.price->currency, in.on_hand.value_or(0)};
        auto json_text = repo::insert_variant(tx.sql(), id, product_id, f);
        repo::refresh_price_summary(tx.sql(), product_id);
        tx.publish(ProductUpdated{product_id, product->slug, product->status}, product_id);
        platform::record_audit(tx, rq, {"catalog.variant.create", "variant", id,
                                        {{"product_id", product_id}, {"sku", f.sku}, {"price", f.price},
                                         {"on_hand", *f.on_hand}}});
        invalidate_after_commit(tx);
        return compact_json(json_text);
      },
      map);
}

asio::awaitable<Result<std::string>> Service::update_variant(const Rq& rq, std::string product_id,
                                                             std::string variant_id, VariantInput patch) {
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return Error::conflict("sku_taken", "Another variant already uses this SKU.");
    return std::nullopt;
  };
  const int threshold = settings_.low_stock_threshold;
  co_return co_await transact<std::string>(
      ctx_.db(),
      [&](Tx& tx) {
        // Variant before product: the order the stock statements (and their triggers) lock them in.
        auto row = repo::lock_variant(tx.sql(), variant_id);
        if (!row || row->product_id != product_id) fail(variant_not_found());
        auto product = repo::lock_product(tx.sql(), product_id);
        if (!product) fail(product_not_found());
        auto f = row->fields;
        json::object changes;
        if (patch.sku && *patch.sku != f.sku) {
          changes["sku"] = changed(f.sku, *patch.sku);
          f.sku = *patch.sku;
        }
        if (patch.title && *patch.title != f.title) {
          changes["title"] = changed(f.title, *patch.title);
          f.title = *patch.title;
        }
        if (patch.options_json) {
          f.options_json = *patch.options_json;
          changes["options"] = json::parse(f.options_json);
        }
        const bool price_changed = patch.price && patch.price->amount != f.price;
        if (patch.price) {
          if (price_changed) changes["price"] = {{"from", f.price}, {"to", patch.price->amount}};
          f.price = patch.price->amount;
          f.currency = patch.price->currency;
        }
        int on_hand = row->on_hand;
        if (patch.on_hand) {
          if (*patch.on_hand < row->reserved) fail(stock_below_reserved(row->reserved));
          if (*patch.on_hand != on_hand) changes["on_hand"] = {{"from", on_hand}, {"to", *patch.on_hand}};
          on_hand = *patch.on_hand;
        }
        auto json_text = repo::update_variant(tx.sql(), variant_id, f, on_hand);
        if (price_changed) repo::refresh_price_summary(tx.sql(), product_id);
        const int available = domain::available(on_hand, row->reserved);
        if (domain::is_stock_low_after(row->on_hand, on_hand, available, threshold)) {
          tx.publish(StockLow{variant_id, product_id, f.sku, product->title + " — " + f.title, available, threshold},
                     variant_id);
        }
        tx.publish(ProductUpdated{product_id, product->slug, product->status}, product_id);
        platform::record_audit(tx, rq, {"catalog.variant.update", "variant", variant_id, std::move(changes)});
        invalidate_after_commit(tx);
        return compact_json(json_text);
      },
      map);
}

asio::awaitable<Result<void>> Service::delete_variant(const Rq& rq, std::string product_id, std::string variant_id) {
  auto done = co_await transact<bool>(ctx_.db(), [&](Tx& tx) {
    auto row = repo::lock_variant(tx.sql(), variant_id);  // variant before product, as everywhere
    if (!row || row->product_id != product_id) fail(variant_not_found());
    auto product = repo::lock_product(tx.sql(), product_id);
    if (!product) fail(product_not_found());
    if (row->reserved > 0) {
      fail(Error::conflict("variant_reserved", "The variant has stock reserved by orders; it cannot be deleted now."));
    }
    repo::delete_variant(tx.sql(), variant_id);
    repo::refresh_price_summary(tx.sql(), product_id);
    tx.publish(ProductUpdated{product_id, product->slug, product->status}, product_id);
    platform::record_audit(tx, rq, {"catalog.variant.delete", "variant", variant_id,
                                    {{"product_id", product_id}, {"sku", row->fields.sku}}});
    invalidate_after_commit(tx);
    return true;
  });
  if (!done) co_return done.error();
  co_return Result<void>{};
}

asio::awaitable<Result<std::string>> Service::set_stock(const Rq& rq, std::string variant_id, int on_hand) {
  const int threshold = settings_.low_stock_threshold;
  co_return co_await transact<std::string>(ctx_.db(), [&](Tx& tx) {
    auto row = repo::lock_variant(tx.sql(), variant_id);
    if (!row) fail(variant_not_found());
    if (on_hand < row->reserved) fail(stock_below_reserved(row->reserved));
    const auto change = repo::set_stock(tx.sql(), variant_id, row->on_hand, on_hand);
    if (domain::is_stock_low_after(change.on_hand_before, change.on_hand_after, change.available_after, threshold)) {
      tx.publish(StockLow{variant_id, change.product_id, change.sku, change.title, change.available_after, threshold},
                 variant_id);
    }
    platform::record_audit(tx, rq, {"catalog.stock.set", "variant", variant_id,
                                    {{"on_hand", {{"from", row->on_hand}, {"to", on_hand}}}}});
    invalidate_after_commit(tx);
    return compact_json(*repo::variant_json(tx.sql(), variant_id));
  });
}

asio::awaitable<Result<std::string>> Service::add_image(const Rq& rq, std::string product_id, domain::ImageType type,
                                                        std::string alt, std::optional<int> position) {
  const bool exists = co_await ctx_.db().run([&](soci::session& s) { return repo::product_exists(s, product_id); });
  if (!exists) co_return product_not_found();

  const std::string_view bytes = rq.body;  // the request outlives this call
  repo::ImageRow image;
  image.id = platform::new_uuid_v7();
  image.product_id = product_id;
  image.key = domain::new_media_key(type);
  image.content_type = std::string(domain::content_type(type));
  image.size = static_cast<std::int64_t>(bytes.size());
  image.alt = std::move(alt);
  image.position = position;
  image.sha256 = co_await media_pool_.run([&] {
    media_.put(image.key, bytes);
    return platform::security::sha256_hex(bytes);
  });

  std::exception_ptr failure;
  std::optional<Result<std::string>> created;
  try {
    created.emplace(co_await transact<std::string>(ctx_.db(), [&](Tx& tx) {
      auto json_text = repo::insert_image(tx.sql(), image);
      if (!json_text) fail(product_not_found());  // deleted meanwhile
      auto product = repo::lock_product(tx.sql(), product_id);
      tx.publish(ProductUpdated{product_id, product->slug, product->status}, product_id);
      platform::record_audit(tx, rq, {"catalog.image.create", "image", image.id,
                                      {{"product_id", product_id}, {"key", image.key}, {"size", image.size}}});
      invalidate_after_commit(tx);
      return compact_json(*json_text);
    }));
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure || !*created) {
    // No row refers to the file: remove it rather than leave an orphan.
    co_await media_pool_.run([&] {
      try {
        media_.remove(image.key);
      } catch (const std::exception& e) {
        platform::log::warn("catalog: could not remove an orphaned image", {{"key", image.key}, {"error", e.what()}});
      }
    });
  }
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*created);
}

asio::awaitable<Result<void>> Service::delete_image(const Rq& rq, std::string product_id, std::string image_id) {
  auto key = co_await transact<std::string>(ctx_.db(), [&](Tx& tx) {
    auto removed = repo::delete_image(tx.sql(), product_id, image_id);
    if (!removed) fail(Error::not_found("The image does not exist."));
    auto product = repo::lock_product(tx.sql(), product_id);
    tx.publish(ProductUpdated{product_id, product->slug, product->status}, product_id);
    platform::record_audit(tx, rq, {"catalog.image.delete", "image", image_id, {{"product_id", product_id}, {"key", *removed}}});
    invalidate_after_commit(tx);
    return *removed;
  });
  if (!key) co_return key.error();
  // After commit: a failure here leaves an unreferenced file, never a reference to a missing one.
  co_await media_pool_.run([&] {
    try {
      media_.remove(*key);
    } catch (const std::exception& e) {
      platform::log::warn("catalog: could not remove a deleted image's file", {{"key", *key}, {"error", e.what()}});
    }
  });
  co_return Result<void>{};
}

asio::awaitable<Result<std::string>> Service::create_category(const Rq& rq, CategoryInput in) {
  const std::string id = platform::new_uuid_v7();
  const bool derived = !in.slug;
  const std::string base = in.slug ? *in.slug : domain::slugify(*in.name, "category");
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return Error::conflict("slug_taken", "Another category already uses this slug.");
    return std::nullopt;
  };
  co_return co_await transact<std::string>(
      ctx_.db(),
      [&](Tx& tx) {
        repo::lock_category_tree(tx.sql());  // also serialises derived slugs: no race between categories
        repo::CategoryRow row{id, base, *in.name, in.parent_id.value_or(std::nullopt)};
        if (row.parent_id && !repo::find_category(tx.sql(), *row.parent_id)) {
          fail(Error::validation("parent_id", "names a category that does not exist"));
        }
        if (derived) row.slug = free_slug(base, [&](const auto& c) { return repo::taken_category_slugs(tx.sql(), c); });
        repo::insert_category(tx.sql(), row);
        platform::record_audit(tx, rq, {"catalog.category.create", "category", id,
                                        {{"slug", row.slug}, {"name", row.name},
                                         {"parent_id", row.parent_id ? json::value(*row.parent_id) : json::value()}}});
        invalidate_after_commit(tx);
        return json::serialize(*category_subtree(repo::all_categories(tx.sql()), id));
      },
      map);
}

asio::awaitable<Result<std::string>> Service::update_category(const Rq& rq, std::string id, CategoryInput patch) {
  const ErrorMap map = [](const std::string& state) -> std::optional<Error> {
    if (state == "23505") return Error::conflict("slug_taken", "Another category already uses this slug.");
    return std::nullopt;
  };
  co_return co_await transact<std::string>(
      ctx_.db(),
      [&](Tx& tx) {
        repo::lock_category_tree(tx.sql());
        auto row = repo::find_category(tx.sql(), id);
        if (!row) fail(category_not_found());
        json::object changes;
        if (patch.name && *patch.name != row->name) {
          changes["name"] = changed(row->name, *patch.name);
          row->name = *patch.name;
        }
        if (patch.slug && *patch.slug != row->slug) {
          changes["slug"] = changed(row->slug, *patch.slug);
          row->slug = *patch.slug;
        }
        if (patch.parent_id && *patch.parent_id != row->parent_id) {
          const auto& parent = *patch.parent_id;
          if (parent) {
            if (!repo::find_category(tx.sql(), *parent)) {
              fail(Error::validation("parent_id", "names a category that does not exist"));
            }
            if (repo::is_in_subtree(tx.sql(), id, *parent)) {
              fail(Error::validation("parent_id", "cannot be the category itself or one of its descendants"));
            }
          }
          changes["parent_id"] = parent ? json::value(*parent) : json::value();
          row->parent_id = parent;
        }
        repo::update_category(tx.sql(), *row);
        platform::record_audit(tx, rq, {"catalog.category.update", "category", id, std::move(changes)});
        invalidate_after_commit(tx);
        return json::serialize(*category_subtree(repo::all_categories(tx.sql()), id));
      },
      map);
}

asio::awaitable<Result<void>> Service::delete_category(const Rq& rq, std::string id) {
  auto done = co_await transact<bool>(ctx_.db(), [&](Tx& tx) {
    repo::lock_category_tree(tx.sql());
    auto row = repo::find_category(tx.sql(), id);
    if (!row) fail(category_not_found());
    if (repo::has_children(tx.sql(), id)) {
      fail(Error::conflict("category_has_children", "Move or delete the subcategories first."));
    }
    repo::delete_category(tx.sql(), id);  // product links go with it
    platform::record_audit(tx, rq, {"catalog.category.delete", "category", id, {{"slug", row->slug}}});
    invalidate_after_commit(tx);
    return true;
  });
  if (!done) co_return done.error();
  co_return Result<void>{};
}

// ------------------------------------------------------------------------------------------------ media

asio::awaitable<std::optional<Service::MediaFile>> Service::media(std::string key) {
  const auto type = domain::media_key_type(key);
  if (!type) co_return std::nullopt;
  co_return co_await media_pool_.run([this, &key, type]() -> std::optional<MediaFile> {
    auto bytes = media_.get(key);
    if (!bytes) return std::nullopt;
    MediaFile file;
    file.etag = "\"" + platform::security::sha256_hex(*bytes) + "\"";
    file.content_type = std::string(domain::content_type(*type));
    file.bytes = std::move(*bytes);
    return file;
  });
}

}  // namespace bazaar::catalog
