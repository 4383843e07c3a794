#pragma once
// All of the catalog's SQL (repository.cpp: products, variants, images, categories; repository_inventory.cpp:
// reservations and the facade reads; repository_seed.cpp: the demo catalog). Functions take the caller's
// session or transaction; the service decides transaction boundaries. Reads return the API's JSON as text,
// built by PostgreSQL in the same round trip that finds the rows.
// The platform::Database& overloads are the hot autocommit statements: one statement in its own implicit
// transaction, sent on the calling I/O thread's own connection (pq::query, no worker-thread hop). A
// function that is also needed inside a transaction keeps its session overload; both share the statement
// and the reading of its result.
#include "domain/listing.hpp"

#include <catalog/types.hpp>
#include <platform/db.hpp>

#include <boost/asio/awaitable.hpp>
#include <soci/soci.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::catalog::repo {

// Customers see published products, no stock counts; admins see every status, on_hand and reserved.
enum class View { customer, admin };

// ---------------------------------------------------------------------------------------------- reads

// The Product JSON of a product by id (a UUID) or slug; customers only get published ones. One round trip.
std::optional<std::string> product_json(soci::session& s, const std::string& ref, View view);
boost::asio::awaitable<std::optional<std::string>> product_json(platform::Database& db, const std::string& ref,
                                                                View view);

// A page: JSON texts of the products in order, and where the next page starts (if there is one).
struct Page {
  std::vector<std::string> items;
  std::optional<std::string> next_key;  // the last item's sort key, when there are more
  std::optional<std::string> next_id;
};
// Published products matching `q` (filters, sort, keyset after the cursor). One round trip.
boost::asio::awaitable<Page> list_products(platform::Database& db, const domain::ListQuery& q);
// Products of any status, newest first. One round trip.
Page list_products_admin(soci::session& s, const domain::AdminListQuery& q);
// Variants with available <= threshold, least available first (admin view). One round trip.
Page list_low_stock(soci::session& s, const domain::LowStockQuery& q);

struct CategoryRow {
  std::string id;
  std::string slug;
  std::string name;
  std::optional<std::string> parent_id;
};
std::vector<CategoryRow> all_categories(soci::session& s);
boost::asio::awaitable<std::vector<CategoryRow>> all_categories(platform::Database& db);

// ---------------------------------------------------------------------------------------------- writes

struct ProductFields {
  std::string title;
  std::string slug;
  std::string description;
  std::string status = "draft";
};

bool product_exists(soci::session& s, const std::string& id);
// The product's current slug, title and status, row-locked for the rest of the transaction.
std::optional<ProductFields> lock_product(soci::session& s, const std::string& id);
// Those of `candidates` that are already used as product (or category) slugs.
std::vector<std::string> taken_product_slugs(soci::session& s, const std::vector<std::string>& candidates);
std::vector<std::string> taken_category_slugs(soci::session& s, const std::vector<std::string>& candidates);
// Throws on a duplicate slug (23505) or an unknown category (23503).
void insert_product(soci::session& s, const std::string& id, const ProductFields& f);
void update_product(soci::session& s, const std::string& id, const ProductFields& f);
void replace_product_categories(soci::session& s, const std::string& product_id,
                                const std::vector<std::string>& category_ids);
// Recomputes min_price/max_price/currency from the variants and bumps updated_at. Call with the product
// locked (lock_product), after every variant write.
void refresh_price_summary(soci::session& s, const std::string& product_id);

struct VariantFields {
  std::string sku;
  std::string title;
  std::string options_json = "{}";
  std::int64_t price = 0;
  std::string currency;
  std::optional<int> on_hand;  // insert: 0 when absent; update: unchanged when absent
};
// Admin Variant JSON of the new row. Throws on a duplicate SKU (23505).
std::string insert_variant(soci::session& s, const std::string& id, const std::string& product_id,
                           const VariantFields& f);
struct VariantRow {
  std::string product_id;
  VariantFields fields;
  int on_hand = 0;
  int reserved = 0;
};
// The variant, row-locked for the rest of the transaction.
std::optional<VariantRow> lock_variant(soci::session& s, const std::string& variant_id);
// Writes every field (on_hand included) and returns the admin Variant JSON. The caller has checked that
// on_hand is not below reserved under the row lock.
std::string update_variant(soci::session& s, const std::string& variant_id, const VariantFields& f, int on_hand);
bool delete_variant(soci::session& s, const std::string& variant_id);
// The admin Variant JSON.
std::optional<std::string> variant_json(soci::session& s, const std::string& variant_id);
// "<product title> — <variant title>" and sku, for stock events.
struct VariantLabel {
  std::string product_id;
  std::string sku;
  std::string title;
};
VariantLabel variant_label(soci::session& s, const std::string& variant_id);

struct ImageRow {
  std::string id;
  std::string product_id;
  std::string key;
  std::string content_type;
  std::int64_t size = 0;
  std::string sha256;
  std::string alt;
  std::optional<int> position;  // appended after the last one when absent
};
// The Image JSON of the new row; nullopt when the product does not exist.
std::optional<std::string> insert_image(soci::session& s, const ImageRow& image);
// The deleted image's media key, or nullopt when there was no such image of that product.
std::optional<std::string> delete_image(soci::session& s, const std::string& product_id, const std::string& image_id);

// Category tree writes are serialised by a transaction-level lock, so that concurrent moves cannot make a
// cycle and a child cannot appear under a category being deleted.
void lock_category_tree(soci::session& s);
std::optional<CategoryRow> find_category(soci::session& s, const std::string& id);
// True when `candidate` is `id` or one of its descendants.
bool is_in_subtree(soci::session& s, const std::string& id, const std::string& candidate);
bool has_children(soci::session& s, const std::string& id);
void insert_category(soci::session& s, const CategoryRow& c);  // throws 23505 (slug) / 23503 (parent)
void update_category(soci::session& s, const CategoryRow& c);
bool delete_category(soci::session& s, const std::string& id);

// ------------------------------------------------------------------------------------------- inventory

struct ReserveResult {
  bool reserved = false;
  std::vector<StockShortage> shortages;
  std::vector<VariantSnapshot> snapshots;  // of the requested variants that exist, as read under the lock
};
// Whether the order already holds (or confirmed) its reservations.
boost::asio::awaitable<bool> has_live_reservation(platform::Database& db, const std::string& order_id);
// All lines or none, in one statement (autocommit: nothing to roll back): variant rows locked in id order,
// reservation rows inserted (or revived when released before) and `reserved` raised only when every line
// is purchasable and available. Idempotent per order. One round trip.
boost::asio::awaitable<ReserveResult> reserve(platform::Database& db, const std::string& order_id,
                                             const std::vector<StockLine>& lines, std::int64_t ttl_seconds);

struct StockChange {
  std::string variant_id;
  std::string product_id;
  std::string sku;
  std::string title;  // "<product title> — <variant title>"
  int on_hand_before = 0;
  int on_hand_after = 0;
  int available_after = 0;
};
// held → confirmed: the quantities leave on_hand and reserved.
// With fail_at_threshold, a change that takes a variant to that threshold or below fails the statement
// (pq::is_expectation_failure) and changes nothing.
std::vector<StockChange> confirm(soci::session& s, const std::string& order_id,
                                 std::optional<int> fail_at_threshold = std::nullopt);
boost::asio::awaitable<std::vector<StockChange>> confirm(platform::Database& db, const std::string& order_id,
                                                         std::optional<int> fail_at_threshold = std::nullopt);
// held → released: the quantities leave reserved. Returns the number of lines released.
int release(soci::session& s, const std::string& order_id);
// confirmed → released: the quantities return to on_hand.
int restock(soci::session& s, const std::string& order_id);
// Releases up to `batch` held reservations past their expiry; returns how many.
int release_expired(soci::session& s, int batch);
// Sets on_hand of a variant locked with lock_variant (the caller has checked it is not below reserved).
StockChange set_stock(soci::session& s, const std::string& variant_id, int on_hand_before, int on_hand);

boost::asio::awaitable<std::vector<VariantSnapshot>> variant_snapshots(platform::Database& db,
                                                                      const std::vector<std::string>& variant_ids);

// ------------------------------------------------------------------------------------------------ seed

struct SeedCategory {
  std::string id;
  std::string slug;
  std::string name;
  std::optional<std::string> parent_id;
};
struct SeedProduct {
  std::string id;
  std::string slug;
  std::string title;
  std::string description;
  std::string status;
  std::string category_id;
  std::int64_t min_price = 0;
  std::int64_t max_price = 0;
};
struct SeedVariant {
  std::string id;
  std::string product_id;
  std::string sku;
  std::string title;
  std::string options_json;
  std::int64_t price = 0;
  int on_hand = 0;
};
// True when the demo catalog (identified by its first SKU) is already there.
bool demo_catalog_exists(soci::session& s, const std::string& marker_sku);
void insert_seed_categories(soci::session& s, const std::vector<SeedCategory>& categories);
// One multi-row INSERT ... SELECT FROM unnest(...) per table for the whole batch.
void insert_seed_batch(soci::session& s, const std::vector<SeedProduct>& products,
                       const std::vector<SeedVariant>& variants, const std::string& currency);

}  // namespace bazaar::catalog::repo
