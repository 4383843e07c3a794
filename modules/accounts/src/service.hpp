#pragma once
// Accounts use cases. Every method returns a Result: errors are values with client-safe details; the
// routes only translate HTTP to these calls and back.
#include "repository.hpp"

#include <accounts/accounts.hpp>
#include <platform/module.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bazaar::accounts {

using platform::Result;
namespace asio = boost::asio;

struct Settings {
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};
  std::chrono::seconds verify_email_ttl{48 * 3600};
  std::chrono::seconds password_reset_ttl{3600};
  std::chrono::seconds status_cache_ttl{10};  // how long a suspension may take to reach live tokens
  bool rate_limits = true;
  std::int64_t login_per_ip_per_minute = 30;
  std::int64_t login_per_email_per_15min = 10;
  std::int64_t register_per_ip_per_hour = 30;
  std::int64_t reset_per_ip_per_hour = 20;
  std::int64_t reset_per_email_per_hour = 3;
  int max_addresses = 20;
};

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  long long expires_in = 0;
};

struct Registration {
  std::string email;
  std::string password;
  std::string first_name;
  std::string last_name;
  std::optional<std::string> phone;
};

struct ProfilePatch {
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::optional<std::string>> phone;  // outer: present; inner nullopt: cleared
};

struct RoleStatusPatch {
  std::optional<std::string> role;
  std::optional<std::string> status;
};

class Service final : public Directory {
 public:
  Service(platform::ModuleContext& ctx, Settings settings);

  asio::awaitable<Result<repo::UserRow>> register_user(Registration input, std::string client_ip);
  asio::awaitable<Result<Tokens>> login(std::string email, std::string password, std::string client_ip);
  asio::awaitable<Result<Tokens>> refresh(std::string refresh_token);
  asio::awaitable<void> logout(std::string refresh_token);
  asio::awaitable<Result<void>> verify_email(std::string token);
  asio::awaitable<Result<void>> request_password_reset(std::string email, std::string client_ip);
  asio::awaitable<Result<void>> confirm_password_reset(std::string token, std::string new_password);

  asio::awaitable<Result<repo::UserRow>> profile(std::string user_id);
  asio::awaitable<Result<repo::UserRow>> update_profile(std::string user_id, ProfilePatch patch);
  asio::awaitable<Result<void>> change_password(std::string user_id, std::string current, std::string next);
  asio::awaitable<Result<void>> delete_account(std::string user_id, std::string password);
  asio::awaitable<Result<boost::json::object>> export_data(std::string user_id);

  asio::awaitable<std::vector<Address>> addresses(std::string user_id);
  asio::awaitable<Result<Address>> create_address(std::string user_id, Address a);
  asio::awaitable<Result<Address>> replace_address(std::string user_id, Address a);
  asio::awaitable<Result<void>> delete_address(std::string user_id, std::string address_id);

  asio::awaitable<std::vector<repo::UserRow>> list_users(repo::UserFilter filter);
  asio::awaitable<Result<repo::UserRow>> admin_update_user(const platform::http::Request& rq, std::string user_id,
                                                           RoleStatusPatch patch);
  asio::awaitable<Result<void>> admin_delete_user(const platform::http::Request& rq, std::string user_id);

  // Runs on every authenticated request: a suspended, deleted or demoted user's token stops working
  // within status_cache_ttl (and at the latest when the token expires).
  asio::awaitable<Result<void>> check_principal(const platform::http::Principal& principal);

  // `bazaar create-admin`: creates the admin, or promotes an existing user and sets the password.
  std::string create_admin_sync(const std::string& email, const std::string& password);

  // Directory (the facade other modules use)
  asio::awaitable<std::optional<UserContact>> contact(std::string user_id) override;
  asio::awaitable<std::optional<Address>> address(std::string user_id, std::string address_id) override;
  asio::awaitable<std::vector<UserContact>> admins() override;
  Result<Address> validate_address(const boost::json::object& fields, const std::string& field_prefix) const override;

 private:
  asio::awaitable<Result<void>> limit(std::string key, std::int64_t limit, std::chrono::seconds window);
  asio::awaitable<Tokens> issue_tokens(const repo::UserRow& user, std::string family_id);
  void forget_status(const std::string& user_id);

  platform::ModuleContext& ctx_;
  Settings settings_;
  std::string dummy_hash_;  // verified against for unknown emails, so both paths cost one Argon2id

  struct CachedStatus {
    std::string status;
    std::string role;
    std::chrono::steady_clock::time_point fetched;
  };
  std::mutex status_mutex_;
  std::unordered_map<std::string, CachedStatus> status_cache_;
};

}  // namespace bazaar::accounts
