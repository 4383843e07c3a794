#pragma once
// All of the cart module's SQL. Every function is one round trip: the hot ones run statements prepared
// once per connection (platform/pq.hpp), and none needs a transaction of its own.
#include "domain/pricing.hpp"

#include <soci/soci.h>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::cart::repo {

struct CartRow {
  std::string id;
  std::optional<std::string> user_id;
  std::string status;
  std::optional<std::string> order_id;
  std::string currency;
  std::string updated_at;
  std::vector<domain::StoredLine> lines;
};

// Creates an empty open cart and returns it.
CartRow insert_cart(soci::session& s, const std::string& id, const std::optional<std::string>& user_id,
                    const std::string& currency);
// The cart with its lines.
std::optional<CartRow> find_cart(soci::session& s, const std::string& cart_id);
// The customer's open cart with its lines.
std::optional<CartRow> find_open_cart(soci::session& s, const std::string& user_id);

// Adds to (or creates) the line of a variant in an open cart, atomically (concurrent adds both count), and
// returns the cart as it is afterwards. nullopt when the cart is not open or the sum would pass the maximum.
std::optional<CartRow> add_quantity(soci::session& s, const std::string& cart_id, const domain::StoredLine& line);
// Sets a line's quantity exactly (merging carts). Creates the line if needed.
void put_line(soci::session& s, const std::string& cart_id, const domain::StoredLine& line);
// Set or delete a line and mark the cart changed; the cart's new updated_at (RFC 3339), or nullopt when the
// cart has no such line.
std::optional<std::string> set_quantity(soci::session& s, const std::string& cart_id, const std::string& item_id,
                                        int quantity);
std::optional<std::string> delete_item(soci::session& s, const std::string& cart_id, const std::string& item_id);
// Marks the cart changed now.
void touch(soci::session& s, const std::string& cart_id);

bool assign_owner(soci::session& s, const std::string& cart_id, const std::string& user_id);
void delete_cart(soci::session& s, const std::string& cart_id);
// Open → completed by `order_id`; true also when it already is completed by that order.
bool complete(soci::session& s, const std::string& cart_id, const std::string& order_id);

long long abandon_stale(soci::session& s, long long older_than_seconds);
void delete_carts_of_user(soci::session& s, const std::string& user_id);

}  // namespace bazaar::cart::repo
