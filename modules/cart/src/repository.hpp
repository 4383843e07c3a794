#pragma once
// All of the cart module's SQL. Every function is one round trip: the hot ones run statements prepared
// once per connection (platform/pq.hpp), and none needs a transaction of its own.
#include "domain/pricing.hpp"

#include <boost/asio/awaitable.hpp>
#include <soci/soci.h>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::platform {
class Database;
}

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

// The statements the service runs on their own (autocommit) take the Database and run on the calling I/O
// thread's own connection (pq::query: one round trip, no worker-thread hop). Those taking a session are
// for a transaction (the merge of a claimed cart, a deleted customer's carts) or for the worker pool.

// Creates an empty open cart and returns it. Throws on a second open cart of a customer (SQLSTATE 23505).
boost::asio::awaitable<CartRow> insert_cart(platform::Database& db, const std::string& id,
                                            const std::optional<std::string>& user_id, const std::string& currency);
// The cart with its lines.
boost::asio::awaitable<std::optional<CartRow>> find_cart(platform::Database& db, const std::string& cart_id);
// The customer's open cart with its lines.
boost::asio::awaitable<std::optional<CartRow>> find_open_cart(platform::Database& db, const std::string& user_id);

// Adds to (or creates) the line of a variant in an open cart, atomically (concurrent adds both count), and
// returns the cart as it is afterwards. nullopt when the cart is not open or the sum would pass the maximum.
boost::asio::awaitable<std::optional<CartRow>> add_quantity(platform::Database& db, const std::string& cart_id,
                                                            const domain::StoredLine& line);
// Sets a line's quantity exactly (merging carts). Creates the line if needed.
void put_line(soci::session& s, const std::string& cart_id, const domain::StoredLine& line);
// Set or delete a line and mark the cart changed; the cart's new updated_at (RFC 3339), or nullopt when the
// cart has no such line.
boost::asio::awaitable<std::optional<std::string>> set_quantity(platform::Database& db, const std::string& cart_id,
                                                                const std::string& item_id, int quantity);
boost::asio::awaitable<std::optional<std::string>> delete_item(platform::Database& db, const std::string& cart_id,
                                                               const std::string& item_id);
// Marks the cart changed now.
void touch(soci::session& s, const std::string& cart_id);

// Gives an open guest cart to a customer; false when it is no longer a guest's open cart. Throws when the
// customer has an open cart already (SQLSTATE 23505).
boost::asio::awaitable<bool> assign_owner(platform::Database& db, const std::string& cart_id,
                                          const std::string& user_id);
void delete_cart(soci::session& s, const std::string& cart_id);
// Open → completed by `order_id`; true also when it already is completed by that order.
boost::asio::awaitable<bool> complete(platform::Database& db, const std::string& cart_id, const std::string& order_id);

// A sweep over every cart: on the worker pool, not on an I/O thread's shared connection.
long long abandon_stale(soci::session& s, long long older_than_seconds);
void delete_carts_of_user(soci::session& s, const std::string& user_id);

}  // namespace bazaar::cart::repo
