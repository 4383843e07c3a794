#pragma once
// All of the cart module's SQL.
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

void insert_cart(soci::session& s, const std::string& id, const std::optional<std::string>& user_id,
                 const std::string& currency);
// The cart with its lines in one round trip.
std::optional<CartRow> find_cart(soci::session& s, const std::string& cart_id);
std::optional<std::string> open_cart_of(soci::session& s, const std::string& user_id);

// Adds to (or creates) the line of a variant in an open cart, atomically (concurrent adds both count).
// Returns the line's new quantity, or nullopt when the cart is not open or the sum would pass the maximum.
std::optional<int> add_quantity(soci::session& s, const std::string& cart_id, const domain::StoredLine& line);
// Sets a line's quantity exactly (merging carts). Creates the line if needed.
void put_line(soci::session& s, const std::string& cart_id, const domain::StoredLine& line);
bool set_quantity(soci::session& s, const std::string& cart_id, const std::string& item_id, int quantity);
bool delete_item(soci::session& s, const std::string& cart_id, const std::string& item_id);
// Marks the cart changed now; returns its new updated_at (RFC 3339).
std::string touch(soci::session& s, const std::string& cart_id);

bool assign_owner(soci::session& s, const std::string& cart_id, const std::string& user_id);
void delete_cart(soci::session& s, const std::string& cart_id);
// Open → completed by `order_id`; true also when it already is completed by that order.
bool complete(soci::session& s, const std::string& cart_id, const std::string& order_id);

long long abandon_stale(soci::session& s, long long older_than_seconds);
void delete_carts_of_user(soci::session& s, const std::string& user_id);

}  // namespace bazaar::cart::repo
