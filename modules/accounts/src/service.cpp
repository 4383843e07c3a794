#include "service.hpp"

#include "domain/validation.hpp"
#include "json_mapping.hpp"

#include <accounts/events.hpp>
#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>
#include <platform/security.hpp>

#include <fmt/format.h>

namespace bazaar::accounts {

using platform::Errc;
using platform::Error;
using platform::Tx;
namespace security = platform::security;

namespace {

Error invalid_credentials() {
  return Error::unauthorized("invalid_credentials", "The email or password is not correct.");
}
Error account_suspended() { return Error::forbidden("account_suspended", "This account is suspended."); }
Error invalid_refresh_token() {
  return Error::unauthorized("invalid_token", "The refresh token is not valid; sign in again.");
}
Error invalid_one_time_token() {
  return Error::make(Errc::validation_failed, "invalid_token", "The link is invalid, was already used or has expired.");
}

}  // namespace

Service::Service(platform::ModuleContext& ctx, Settings settings)
    : ctx_(ctx), settings_(settings), dummy_hash_(security::PasswordHasher{}.hash(security::random_token(16))) {}

asio::awaitable<Result<void>> Service::limit(std::string key, std::int64_t max, std::chrono::seconds window) {
  if (!settings_.rate_limits) co_return Result<void>{};
  auto decision = co_await ctx_.rate_limiter().hit("accounts:" + key, max, window);
  if (!decision.allowed) co_return Error::rate_limited(decision.retry_after_seconds);
  co_return Result<void>{};
}

asio::awaitable<Tokens> Service::issue_tokens(const repo::UserRow& user, std::string family_id) {
  Tokens t;
  t.access_token = ctx_.jwt().issue(user.id, user.role);
  t.expires_in = ctx_.jwt().settings().access_ttl.count();
  t.refresh_token = security::random_token(32);
  const std::string hash = security::sha256_hex(t.refresh_token);
  const auto ttl = settings_.refresh_ttl.count();
  co_await ctx_.db().run([&](soci::session& s) { repo::insert_refresh_token(s, user.id, family_id, hash, ttl); });
  co_return t;
}

asio::awaitable<Result<repo::UserRow>> Service::register_user(Registration in, std::string client_ip) {
  if (auto ok = co_await limit("register:ip:" + client_ip, settings_.register_per_ip_per_hour, std::chrono::hours(1)); !ok) {
    co_return ok.error();
  }
  repo::UserRow user;
  user.id = platform::new_uuid_v7();
  user.email = in.email;
  user.first_name = in.first_name;
  user.last_name = in.last_name;
  user.phone = in.phone;
  user.password_hash = co_await ctx_.hash_password(in.password);
  const std::string token = security::random_token(32);
  const std::string token_hash = security::sha256_hex(token);
  const auto ttl = settings_.verify_email_ttl.count();
  try {
    co_await ctx_.db().transaction([&](Tx& tx) {
      repo::insert_user(tx.sql(), user);
      const auto expires_at = repo::insert_one_time_token(tx.sql(), token_hash, user.id, "verify_email", ttl);
      tx.publish(UserRegistered{user.id, user.email, user.first_name, user.last_name}, user.id);
      tx.publish(EmailVerificationRequested{user.id, user.email, user.first_name, token, expires_at}, user.id);
    });
  } catch (const std::exception& e) {
    if (!platform::is_unique_violation(e)) throw;
    co_return Error::conflict("email_taken", "An account with this email already exists.");
  }
  auto stored = co_await repo::find_user(ctx_.db(), user.id);
  co_return *stored;
}

asio::awaitable<Result<Tokens>> Service::login(std::string email, std::string password, std::string client_ip) {
  if (auto ok = co_await limit("login:ip:" + client_ip, settings_.login_per_ip_per_minute, std::chrono::minutes(1)); !ok) {
    co_return ok.error();
  }
  if (auto ok = co_await limit("login:email:" + email, settings_.login_per_email_per_15min, std::chrono::minutes(15));
      !ok) {
    co_return ok.error();
  }
  auto user = co_await repo::find_user_by_email(ctx_.db(), email);
  // Unknown emails are checked against a dummy hash: same work, same time, no account enumeration.
  auto check = co_await ctx_.verify_password(password, user ? user->password_hash : dummy_hash_);
  if (!user || !check.ok) co_return invalid_credentials();
  if (user->status != "active") co_return account_suspended();
  if (check.needs_rehash) {
    const std::string rehashed = co_await ctx_.hash_password(password);
    co_await ctx_.db().run([&](soci::session& s) { repo::update_password(s, user->id, rehashed); });
  }
  co_return co_await issue_tokens(*user, platform::new_uuid_v7());
}

asio::awaitable<Result<Tokens>> Service::refresh(std::string refresh_token) {
  const std::string hash = security::sha256_hex(refresh_token);
  auto use = co_await ctx_.db().run([&](soci::session& s) {
    auto u = repo::consume_refresh_token(s, hash);
    // A token presented twice was stolen or leaked: end the whole session family (theft detection).
    if (u.outcome == repo::RefreshUse::Outcome::reused) repo::revoke_family(s, u.family_id);
    return u;
  });
  if (use.outcome == repo::RefreshUse::Outcome::reused) {
    platform::log::warn("refresh token reuse: family revoked", {{"user_id", use.user_id}});
  }
  if (use.outcome == repo::RefreshUse::Outcome::unknown) co_return invalid_refresh_token();
  auto user = co_await repo::find_user(ctx_.db(), use.user_id);
  if (!user) co_return invalid_refresh_token();
  // Suspension revokes the user's refresh tokens, yet the answer must still say why (API.md: a suspended
  // user's refresh is 403 account_suspended), whether or not the presented token was still live.
  if (user->status != "active") co_return account_suspended();
  if (use.outcome != repo::RefreshUse::Outcome::ok) co_return invalid_refresh_token();
  co_return co_await issue_tokens(*user, use.family_id);
}

asio::awaitable<void> Service::logout(std::string refresh_token) {
  const std::string hash = security::sha256_hex(refresh_token);
  co_await ctx_.db().run([&](soci::session& s) { repo::revoke_family_of(s, hash); });
}

asio::awaitable<Result<void>> Service::verify_email(std::string token) {
  const std::string hash = security::sha256_hex(token);
  const bool ok = co_await ctx_.db().transaction([&](Tx& tx) {
    auto user_id = repo::consume_one_time_token(tx.sql(), hash, "verify_email");
    if (!user_id) return false;
    repo::set_email_verified(tx.sql(), *user_id);
    return true;
  });
  if (!ok) co_return invalid_one_time_token();
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Service::request_password_reset(std::string email, std::string client_ip) {
  if (auto ok = co_await limit("reset:ip:" + client_ip, settings_.reset_per_ip_per_hour, std::chrono::hours(1)); !ok) {
    co_return ok.error();
  }
  // Per email the limit is silent: the response must not differ between known and unknown emails.
  if (auto ok = co_await limit("reset:email:" + email, settings_.reset_per_email_per_hour, std::chrono::hours(1)); !ok) {
    co_return Result<void>{};
  }
  const std::string token = security::random_token(32);
  const std::string hash = security::sha256_hex(token);
  const auto ttl = settings_.password_reset_ttl.count();
  co_await ctx_.db().transaction([&](Tx& tx) {
    auto user = repo::find_user_by_email(tx.sql(), email);
    if (!user || user->status != "active") return;
    const auto expires_at = repo::insert_one_time_token(tx.sql(), hash, user->id, "password_reset", ttl);
    tx.publish(PasswordResetRequested{user->id, user->email, user->first_name, token, expires_at}, user->id);
  });
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Service::confirm_password_reset(std::string token, std::string new_password) {
  const std::string new_hash = co_await ctx_.hash_password(new_password);
  const std::string hash = security::sha256_hex(token);
  const bool ok = co_await ctx_.db().transaction([&](Tx& tx) {
    auto user_id = repo::consume_one_time_token(tx.sql(), hash, "password_reset");
    if (!user_id) return false;
    repo::update_password(tx.sql(), *user_id, new_hash);
    repo::revoke_all_refresh_tokens(tx.sql(), *user_id);
    return true;
  });
  if (!ok) co_return invalid_one_time_token();
  co_return Result<void>{};
}

asio::awaitable<Result<repo::UserRow>> Service::profile(std::string user_id) {
  auto user = co_await repo::find_user(ctx_.db(), user_id);
  if (!user) co_return Error::not_found("The account does not exist.");
  co_return std::move(*user);
}

asio::awaitable<Result<repo::UserRow>> Service::update_profile(std::string user_id, ProfilePatch patch) {
  auto updated = co_await ctx_.db().transaction([&](Tx& tx) -> std::optional<repo::UserRow> {
    auto user = repo::find_user(tx.sql(), user_id);
    if (!user) return std::nullopt;
    if (patch.first_name) user->first_name = *patch.first_name;
    if (patch.last_name) user->last_name = *patch.last_name;
    if (patch.phone) user->phone = *patch.phone;
    repo::update_profile(tx.sql(), *user);
    return user;
  });
  if (!updated) co_return Error::not_found("The account does not exist.");
  co_return *updated;
}

asio::awaitable<Result<void>> Service::change_password(std::string user_id, std::string current, std::string next) {
  auto user = co_await repo::find_user(ctx_.db(), user_id);
  if (!user) co_return Error::not_found("The account does not exist.");
  auto check = co_await ctx_.verify_password(current, user->password_hash);
  if (!check.ok) co_return Error::validation("current_password", "is not correct");
  const std::string hash = co_await ctx_.hash_password(next);
  co_await ctx_.db().transaction([&](Tx& tx) {
    repo::update_password(tx.sql(), user_id, hash);
    repo::revoke_all_refresh_tokens(tx.sql(), user_id);  // every other session must sign in again
  });
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Service::delete_account(std::string user_id, std::string password) {
  auto user = co_await repo::find_user(ctx_.db(), user_id);
  if (!user) co_return Error::not_found("The account does not exist.");
  auto check = co_await ctx_.verify_password(password, user->password_hash);
  if (!check.ok) co_return Error::validation("password", "is not correct");
  co_await ctx_.db().transaction([&](Tx& tx) {
    // Profile, addresses and tokens go with the row (ON DELETE CASCADE); other modules anonymise what
    // they hold when they see UserDeleted. Orders stay, without the personal data.
    repo::delete_user(tx.sql(), user_id);
    tx.publish(UserDeleted{user_id}, user_id);
  });
  forget_status(user_id);
  co_return Result<void>{};
}

asio::awaitable<Result<boost::json::object>> Service::export_data(std::string user_id) {
  auto user = co_await repo::find_user(ctx_.db(), user_id);
  if (!user) co_return Error::not_found("The account does not exist.");
  auto saved = co_await addresses(user_id);
  boost::json::object out;
  out["exported_at"] = platform::now_rfc3339();
  out["profile"] = user_json(*user);
  boost::json::array list;
  for (const auto& a : saved) list.push_back(address_json(a));
  out["addresses"] = std::move(list);
  for (auto& [section, data] : co_await ctx_.export_personal_data(user_id)) out[section] = std::move(data);
  co_return out;
}

asio::awaitable<std::vector<Address>> Service::addresses(std::string user_id) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::list_addresses(s, user_id); });
}

asio::awaitable<Result<Address>> Service::create_address(std::string user_id, Address a) {
  a.id = platform::new_uuid_v7();
  const int max = settings_.max_addresses;
  const bool created = co_await ctx_.db().transaction([&](Tx& tx) {
    // Serialises address writes of one user, so the count check and the default flag stay consistent.
    repo::lock_user(tx.sql(), user_id);
    if (repo::count_addresses(tx.sql(), user_id) >= max) return false;
    if (a.is_default_shipping) repo::clear_default_shipping(tx.sql(), user_id);
    repo::insert_address(tx.sql(), user_id, a);
    return true;
  });
  if (!created) {
    co_return Error::conflict("too_many_addresses", fmt::format("At most {} addresses can be saved.", max));
  }
  co_return a;
}

asio::awaitable<Result<Address>> Service::replace_address(std::string user_id, Address a) {
  const bool found = co_await ctx_.db().transaction([&](Tx& tx) {
    repo::lock_user(tx.sql(), user_id);
    if (!repo::find_address(tx.sql(), user_id, a.id)) return false;
    if (a.is_default_shipping) repo::clear_default_shipping(tx.sql(), user_id);
    repo::update_address(tx.sql(), user_id, a);
    return true;
  });
  if (!found) co_return Error::not_found("The address does not exist.");
  co_return a;
}

asio::awaitable<Result<void>> Service::delete_address(std::string user_id, std::string address_id) {
  const bool deleted =
      co_await ctx_.db().run([&](soci::session& s) { return repo::delete_address(s, user_id, address_id); });
  if (!deleted) co_return Error::not_found("The address does not exist.");
  co_return Result<void>{};
}

asio::awaitable<std::vector<repo::UserRow>> Service::list_users(repo::UserFilter filter) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::list_users(s, filter); });
}

asio::awaitable<Result<repo::UserRow>> Service::admin_update_user(const platform::http::Request& rq,
                                                                  std::string user_id, RoleStatusPatch patch) {
  // An admin cannot lock themselves out (and so cannot leave the shop without any admin by accident).
  if (user_id == rq.user_id() && ((patch.role && *patch.role != "admin") || (patch.status && *patch.status != "active"))) {
    co_return Error::conflict("cannot_modify_self", "Admins cannot demote or suspend themselves.");
  }
  auto updated = co_await ctx_.db().transaction([&](Tx& tx) -> std::optional<repo::UserRow> {
    auto user = repo::find_user(tx.sql(), user_id);
    if (!user) return std::nullopt;
    boost::json::object changes;
    if (patch.role && *patch.role != user->role) {
      changes["role"] = {{"from", user->role}, {"to", *patch.role}};
      user->role = *patch.role;
    }
    if (patch.status && *patch.status != user->status) {
      changes["status"] = {{"from", user->status}, {"to", *patch.status}};
      user->status = *patch.status;
    }
    repo::set_role_status(tx.sql(), user->id, user->role, user->status);
    if (user->status == "suspended") repo::revoke_all_refresh_tokens(tx.sql(), user->id);
    platform::record_audit(tx, rq, {"accounts.user.update", "user", user->id, std::move(changes)});
    return user;
  });
  if (!updated) co_return Error::not_found("The user does not exist.");
  forget_status(user_id);
  co_return *updated;
}

asio::awaitable<Result<void>> Service::admin_delete_user(const platform::http::Request& rq, std::string user_id) {
  if (user_id == rq.user_id()) {
    co_return Error::conflict("cannot_modify_self", "Admins cannot delete their own account here.");
  }
  const bool deleted = co_await ctx_.db().transaction([&](Tx& tx) {
    if (!repo::delete_user(tx.sql(), user_id)) return false;
    tx.publish(UserDeleted{user_id}, user_id);
    platform::record_audit(tx, rq, {"accounts.user.delete", "user", user_id, {}});
    return true;
  });
  if (!deleted) co_return Error::not_found("The user does not exist.");
  forget_status(user_id);
  co_return Result<void>{};
}

void Service::forget_status(const std::string& user_id) {
  std::lock_guard lock(status_mutex_);
  status_cache_.erase(user_id);
}

asio::awaitable<Result<void>> Service::check_principal(const platform::http::Principal& principal) {
  const auto now = std::chrono::steady_clock::now();
  std::optional<CachedStatus> cached;
  {
    std::lock_guard lock(status_mutex_);
    auto it = status_cache_.find(principal.user_id);
    if (it != status_cache_.end() && now - it->second.fetched < settings_.status_cache_ttl) cached = it->second;
  }
  if (!cached) {
    auto found = co_await repo::status_and_role(ctx_.db(), principal.user_id);
    if (!found) co_return Error::unauthorized("invalid_token", "The account no longer exists.");
    cached = CachedStatus{found->first, found->second, now};
    std::lock_guard lock(status_mutex_);
    if (status_cache_.size() > 100'000) status_cache_.clear();  // bound memory; it refills on demand
    status_cache_[principal.user_id] = *cached;
  }
  if (cached->status != "active") co_return account_suspended();
  if (cached->role != principal.role) {
    co_return Error::unauthorized("invalid_token", "The account's role changed; sign in again.");
  }
  co_return Result<void>{};
}

std::string Service::create_admin_sync(const std::string& email, const std::string& password) {
  const std::string hash = security::PasswordHasher{}.hash(password);
  std::string outcome;
  ctx_.db().transaction_sync([&](Tx& tx) {
    if (auto existing = repo::find_user_by_email(tx.sql(), email)) {
      repo::update_password(tx.sql(), existing->id, hash);
      repo::set_role_status(tx.sql(), existing->id, "admin", "active");
      outcome = "promoted existing user " + existing->id + " to admin";
      return;
    }
    repo::UserRow user;
    user.id = platform::new_uuid_v7();
    user.email = email;
    user.password_hash = hash;
    user.first_name = "Admin";
    user.last_name = "";
    user.role = "admin";
    user.email_verified = true;
    repo::insert_user(tx.sql(), user);
    outcome = "created admin " + user.id;
  });
  return outcome;
}

asio::awaitable<std::optional<UserContact>> Service::contact(std::string user_id) {
  if (!platform::is_uuid(user_id)) co_return std::nullopt;
  co_return co_await repo::find_contact(ctx_.db(), user_id);
}

asio::awaitable<std::optional<Address>> Service::address(std::string user_id, std::string address_id) {
  if (!platform::is_uuid(address_id) || !platform::is_uuid(user_id)) co_return std::nullopt;
  co_return co_await repo::find_address(ctx_.db(), user_id, address_id);
}

Result<Address> Service::validate_address(const boost::json::object& fields, const std::string& field_prefix) const {
  platform::FieldReader r(fields, field_prefix);
  Address a;
  read_address(r, a, false);
  if (!r.ok()) return r.error();
  return a;
}

asio::awaitable<std::vector<UserContact>> Service::admins() {
  co_return co_await ctx_.db().run([](soci::session& s) { return repo::active_admins(s); });
}

}  // namespace bazaar::accounts
