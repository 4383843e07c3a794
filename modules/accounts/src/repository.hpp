#pragma once
// All of the accounts module's SQL. Functions take the caller's session or transaction; the service
// decides the transaction boundaries.
#include <accounts/accounts.hpp>

#include <platform/db.hpp>

#include <boost/asio/awaitable.hpp>
#include <soci/soci.h>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::accounts::repo {

struct UserRow {
  std::string id;
  std::string email;
  std::string password_hash;
  std::string first_name;
  std::string last_name;
  std::optional<std::string> phone;
  std::string role = "customer";
  std::string status = "active";
  bool email_verified = false;
  std::string created_at;
};

// Hot reads: prepared once per connection, then one round trip each (libpq, platform/pq.hpp). The
// Database& overloads run on the calling I/O thread's own connection (pq::query); the session ones are
// for reads inside a transaction.
std::optional<UserRow> find_user(soci::session& s, const std::string& id);
boost::asio::awaitable<std::optional<UserRow>> find_user(platform::Database& db, const std::string& id);
std::optional<UserRow> find_user_by_email(soci::session& s, const std::string& email);
boost::asio::awaitable<std::optional<UserRow>> find_user_by_email(platform::Database& db, const std::string& email);
boost::asio::awaitable<std::optional<UserContact>> find_contact(platform::Database& db, const std::string& id);
void insert_user(soci::session& s, const UserRow& u);  // throws on a duplicate email (SQLSTATE 23505)
void update_profile(soci::session& s, const UserRow& u);
void update_password(soci::session& s, const std::string& user_id, const std::string& hash);
void set_email_verified(soci::session& s, const std::string& user_id);
void set_role_status(soci::session& s, const std::string& user_id, const std::string& role, const std::string& status);
bool delete_user(soci::session& s, const std::string& user_id);
boost::asio::awaitable<std::optional<std::pair<std::string, std::string>>> status_and_role(platform::Database& db,
                                                                                          const std::string& user_id);
// Row lock on the user: serialises one user's address writes (count limit, single default).
void lock_user(soci::session& s, const std::string& user_id);

struct UserFilter {
  std::string q;
  std::string role;
  std::string status;
  std::string after_id;  // keyset: newest first
  int limit = 20;
};
std::vector<UserRow> list_users(soci::session& s, const UserFilter& f);
std::vector<UserContact> active_admins(soci::session& s);

// Refresh tokens: single use, rotated within a family.
void insert_refresh_token(soci::session& s, const std::string& user_id, const std::string& family_id,
                          const std::string& token_hash, long long ttl_seconds);
struct RefreshUse {
  enum class Outcome { ok, unknown, reused, expired } outcome = Outcome::unknown;
  std::string user_id;
  std::string family_id;
};
// Marks the token used if it is live; tells why not otherwise.
RefreshUse consume_refresh_token(soci::session& s, const std::string& token_hash);
void revoke_family(soci::session& s, const std::string& family_id);
void revoke_family_of(soci::session& s, const std::string& token_hash);  // logout; unknown tokens are ignored
void revoke_all_refresh_tokens(soci::session& s, const std::string& user_id);

// One-time tokens (verify_email, password_reset); returns expires_at (RFC 3339).
std::string insert_one_time_token(soci::session& s, const std::string& token_hash, const std::string& user_id,
                                  const std::string& purpose, long long ttl_seconds);
// The user id if the token is live, marking it used.
std::optional<std::string> consume_one_time_token(soci::session& s, const std::string& token_hash,
                                                  const std::string& purpose);

std::vector<Address> list_addresses(soci::session& s, const std::string& user_id);
std::optional<Address> find_address(soci::session& s, const std::string& user_id, const std::string& address_id);
boost::asio::awaitable<std::optional<Address>> find_address(platform::Database& db, const std::string& user_id,
                                                            const std::string& address_id);
int count_addresses(soci::session& s, const std::string& user_id);
void insert_address(soci::session& s, const std::string& user_id, const Address& a);
void update_address(soci::session& s, const std::string& user_id, const Address& a);
bool delete_address(soci::session& s, const std::string& user_id, const std::string& address_id);
void clear_default_shipping(soci::session& s, const std::string& user_id);

}  // namespace bazaar::accounts::repo
