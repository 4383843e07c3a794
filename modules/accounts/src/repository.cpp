#include "repository.hpp"

#include <platform/db.hpp>
#include <platform/ids.hpp>
#include <platform/pq.hpp>

namespace bazaar::accounts::repo {

using platform::Nullable;
using platform::optional_string;
using platform::use_nullable;
namespace pq = platform::pq;
namespace asio = boost::asio;

namespace {

constexpr const char* kUserColumns = R"sql(
    id::text, email, password_hash, first_name, last_name, phone, role, status, email_verified::int,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql";

UserRow user_from(const soci::row& r) {
  UserRow u;
  u.id = r.get<std::string>(0);
  u.email = r.get<std::string>(1);
  u.password_hash = r.get<std::string>(2);
  u.first_name = r.get<std::string>(3);
  u.last_name = r.get<std::string>(4);
  u.phone = optional_string(r, 5);
  u.role = r.get<std::string>(6);
  u.status = r.get<std::string>(7);
  u.email_verified = r.get<int>(8) != 0;
  u.created_at = r.get<std::string>(9);
  return u;
}

UserRow user_from(const pq::Result& r) {
  UserRow u;
  u.id = r.string(0, 0);
  u.email = r.string(0, 1);
  u.password_hash = r.string(0, 2);
  u.first_name = r.string(0, 3);
  u.last_name = r.string(0, 4);
  u.phone = r.optional(0, 5);
  u.role = r.string(0, 6);
  u.status = r.string(0, 7);
  u.email_verified = r.integer(0, 8) != 0;
  u.created_at = r.string(0, 9);
  return u;
}

constexpr const char* kAddressColumns = R"sql(
    id::text, label, first_name, last_name, line1, line2, city, postal_code, region, country, phone,
    is_default_shipping::int)sql";

Address address_from(const pq::Result& r) {
  Address a;
  a.id = r.string(0, 0);
  a.label = r.optional(0, 1);
  a.first_name = r.string(0, 2);
  a.last_name = r.string(0, 3);
  a.line1 = r.string(0, 4);
  a.line2 = r.optional(0, 5);
  a.city = r.string(0, 6);
  a.postal_code = r.string(0, 7);
  a.region = r.optional(0, 8);
  a.country = r.string(0, 9);
  a.phone = r.optional(0, 10);
  a.is_default_shipping = r.integer(0, 11) != 0;
  return a;
}

Address address_from(const soci::row& r) {
  Address a;
  a.id = r.get<std::string>(0);
  a.label = optional_string(r, 1);
  a.first_name = r.get<std::string>(2);
  a.last_name = r.get<std::string>(3);
  a.line1 = r.get<std::string>(4);
  a.line2 = optional_string(r, 5);
  a.city = r.get<std::string>(6);
  a.postal_code = r.get<std::string>(7);
  a.region = optional_string(r, 8);
  a.country = r.get<std::string>(9);
  a.phone = optional_string(r, 10);
  a.is_default_shipping = r.get<int>(11) != 0;
  return a;
}

}  // namespace

namespace {

// The hot single-row reads (GET /api/v1/me, login, the facade) are prepared once per connection: one
// round trip each, planned once. bench/pgbench/accounts_me.sql is the by-id statement, verbatim.
const std::string& user_by_id_sql() {
  static const std::string sql =
      std::string("SELECT") + kUserColumns + R"sql( FROM accounts.users WHERE id = CAST($1 AS uuid))sql";
  return sql;
}
const pq::Prepared kUserById{"accounts_user_by_id_v1", user_by_id_sql().c_str()};

const std::string& user_by_email_sql() {
  static const std::string sql = std::string("SELECT") + kUserColumns + R"sql( FROM accounts.users WHERE email = $1)sql";
  return sql;
}
const pq::Prepared kUserByEmail{"accounts_user_by_email_v1", user_by_email_sql().c_str()};

constexpr pq::Prepared kContact{"accounts_contact_v1", R"sql(
    SELECT id::text, email, first_name, last_name FROM accounts.users WHERE id = CAST($1 AS uuid))sql"};

// Runs for every authenticated request whose user is not in the status cache.
constexpr pq::Prepared kStatusRole{"accounts_status_role_v1", R"sql(
    SELECT status, role FROM accounts.users WHERE id = CAST($1 AS uuid))sql"};

pq::Params one_param(const std::string& value) {
  pq::Params params;
  params.add(value);
  return params;
}

std::optional<UserRow> user_of(const pq::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return user_from(r);
}

}  // namespace

std::optional<UserRow> find_user(soci::session& s, const std::string& id) {
  return user_of(pq::exec_prepared(s, kUserById, one_param(id)));
}

asio::awaitable<std::optional<UserRow>> find_user(platform::Database& db, const std::string& id) {
  co_return user_of(co_await pq::query(db, kUserById, one_param(id)));
}

std::optional<UserRow> find_user_by_email(soci::session& s, const std::string& email) {
  return user_of(pq::exec_prepared(s, kUserByEmail, one_param(email)));
}

asio::awaitable<std::optional<UserRow>> find_user_by_email(platform::Database& db, const std::string& email) {
  co_return user_of(co_await pq::query(db, kUserByEmail, one_param(email)));
}

asio::awaitable<std::optional<UserContact>> find_contact(platform::Database& db, const std::string& id) {
  auto r = co_await pq::query(db, kContact, one_param(id));
  if (r.rows() == 0) co_return std::nullopt;
  co_return UserContact{r.string(0, 0), r.string(0, 1), r.string(0, 2), r.string(0, 3)};
}

void insert_user(soci::session& s, const UserRow& u) {
  Nullable phone(u.phone);
  const int verified = u.email_verified ? 1 : 0;
  s << R"sql(INSERT INTO accounts.users (id, email, password_hash, first_name, last_name, phone, role, status,
                                         email_verified)
             VALUES (CAST(:id AS uuid), :email, :hash, :first, :last, :phone, :role, :status, :verified = 1))sql",
      soci::use(u.id, "id"), soci::use(u.email, "email"), soci::use(u.password_hash, "hash"),
      soci::use(u.first_name, "first"), soci::use(u.last_name, "last"), use_nullable(phone, "phone"),
      soci::use(u.role, "role"), soci::use(u.status, "status"), soci::use(verified, "verified");
}

void update_profile(soci::session& s, const UserRow& u) {
  Nullable phone(u.phone);
  s << R"sql(UPDATE accounts.users SET first_name = :first, last_name = :last, phone = :phone, updated_at = now()
             WHERE id = CAST(:id AS uuid))sql",
      soci::use(u.first_name, "first"), soci::use(u.last_name, "last"), use_nullable(phone, "phone"),
      soci::use(u.id, "id");
}

void update_password(soci::session& s, const std::string& user_id, const std::string& hash) {
  s << "UPDATE accounts.users SET password_hash = :h, updated_at = now() WHERE id = CAST(:id AS uuid)",
      soci::use(hash, "h"), soci::use(user_id, "id");
}

void set_email_verified(soci::session& s, const std::string& user_id) {
  s << "UPDATE accounts.users SET email_verified = true, updated_at = now() WHERE id = CAST(:id AS uuid)",
      soci::use(user_id, "id");
}

void set_role_status(soci::session& s, const std::string& user_id, const std::string& role, const std::string& status) {
  s << R"sql(UPDATE accounts.users SET role = :role, status = :status, updated_at = now()
             WHERE id = CAST(:id AS uuid))sql",
      soci::use(role, "role"), soci::use(status, "status"), soci::use(user_id, "id");
}

bool delete_user(soci::session& s, const std::string& user_id) {
  soci::statement st = (s.prepare << "DELETE FROM accounts.users WHERE id = CAST(:id AS uuid)", soci::use(user_id, "id"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

std::vector<UserRow> list_users(soci::session& s, const UserFilter& f) {
  std::vector<UserRow> out;
  const int limit = f.limit;
  // Substring search through the trigram index; ILIKE wildcards in the query are escaped.
  std::string pattern;
  for (char c : f.q) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern = "%" + pattern + "%";
  soci::rowset<soci::row> rows = (s.prepare << "SELECT " << kUserColumns << R"sql(
      FROM accounts.users
      WHERE (:q = '' OR (email || ' ' || first_name || ' ' || last_name) ILIKE :pattern)
        AND (:role = '' OR role = :role)
        AND (:status = '' OR status = :status)
        AND (:after = '' OR id < CAST(NULLIF(:after, '') AS uuid))
      ORDER BY id DESC LIMIT :limit)sql",
                                  soci::use(f.q, "q"), soci::use(pattern, "pattern"), soci::use(f.role, "role"),
                                  soci::use(f.status, "status"), soci::use(f.after_id, "after"),
                                  soci::use(limit, "limit"));
  for (const auto& r : rows) out.push_back(user_from(r));
  return out;
}

std::vector<UserContact> active_admins(soci::session& s) {
  std::vector<UserContact> out;
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      SELECT id::text, email, first_name, last_name FROM accounts.users
      WHERE role = 'admin' AND status = 'active' ORDER BY id)sql");
  for (const auto& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3)});
  }
  return out;
}

void insert_refresh_token(soci::session& s, const std::string& user_id, const std::string& family_id,
                          const std::string& token_hash, long long ttl_seconds) {
  const std::string id = platform::new_uuid_v7();
  s << R"sql(INSERT INTO accounts.refresh_tokens (id, user_id, family_id, token_hash, expires_at)
             VALUES (CAST(:id AS uuid), CAST(:user AS uuid), CAST(:family AS uuid), :hash,
                     now() + make_interval(secs => :ttl)))sql",
      soci::use(id, "id"), soci::use(user_id, "user"), soci::use(family_id, "family"), soci::use(token_hash, "hash"),
      soci::use(static_cast<double>(ttl_seconds), "ttl");
}

RefreshUse consume_refresh_token(soci::session& s, const std::string& token_hash) {
  RefreshUse use;
  soci::row r;
  // The conditional UPDATE is the single point of truth: of two concurrent refreshes with the same
  // token exactly one gets the row back; the other sees it used and is treated as reuse.
  s << R"sql(UPDATE accounts.refresh_tokens SET used_at = now()
             WHERE token_hash = :hash AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
             RETURNING user_id::text, family_id::text)sql",
      soci::use(token_hash, "hash"), soci::into(r);
  if (s.got_data()) {
    use.outcome = RefreshUse::Outcome::ok;
    use.user_id = r.get<std::string>(0);
    use.family_id = r.get<std::string>(1);
    return use;
  }
  soci::row known;
  s << R"sql(SELECT user_id::text, family_id::text, (used_at IS NOT NULL OR revoked_at IS NOT NULL)::int
             FROM accounts.refresh_tokens WHERE token_hash = :hash)sql",
      soci::use(token_hash, "hash"), soci::into(known);
  if (!s.got_data()) return use;
  use.user_id = known.get<std::string>(0);
  use.family_id = known.get<std::string>(1);
  use.outcome = known.get<int>(2) ? RefreshUse::Outcome::reused : RefreshUse::Outcome::expired;
  return use;
}

void revoke_family(soci::session& s, const std::string& family_id) {
  s << R"sql(UPDATE accounts.refresh_tokens SET revoked_at = now()
             WHERE family_id = CAST(:f AS uuid) AND revoked_at IS NULL)sql",
      soci::use(family_id, "f");
}

void revoke_family_of(soci::session& s, const std::string& token_hash) {
  s << R"sql(UPDATE accounts.refresh_tokens SET revoked_at = now()
             WHERE family_id = (SELECT family_id FROM accounts.refresh_tokens WHERE token_hash = :h)
               AND revoked_at IS NULL)sql",
      soci::use(token_hash, "h");
}

asio::awaitable<std::optional<std::pair<std::string, std::string>>> status_and_role(platform::Database& db,
                                                                                   const std::string& user_id) {
  auto r = co_await pq::query(db, kStatusRole, one_param(user_id));
  if (r.rows() == 0) co_return std::nullopt;
  co_return std::pair{r.string(0, 0), r.string(0, 1)};
}

void lock_user(soci::session& s, const std::string& user_id) {
  int one = 0;
  s << "SELECT 1 FROM accounts.users WHERE id = CAST(:u AS uuid) FOR UPDATE", soci::use(user_id, "u"), soci::into(one);
}

void revoke_all_refresh_tokens(soci::session& s, const std::string& user_id) {
  s << R"sql(UPDATE accounts.refresh_tokens SET revoked_at = now()
             WHERE user_id = CAST(:u AS uuid) AND revoked_at IS NULL)sql",
      soci::use(user_id, "u");
}

std::string insert_one_time_token(soci::session& s, const std::string& token_hash, const std::string& user_id,
                                  const std::string& purpose, long long ttl_seconds) {
  std::string expires_at;
  s << R"sql(INSERT INTO accounts.one_time_tokens (token_hash, user_id, purpose, expires_at)
             VALUES (:hash, CAST(:user AS uuid), :purpose, now() + make_interval(secs => :ttl))
             RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql",
      soci::use(token_hash, "hash"), soci::use(user_id, "user"), soci::use(purpose, "purpose"),
      soci::use(static_cast<double>(ttl_seconds), "ttl"), soci::into(expires_at);
  return expires_at;
}

std::optional<std::string> consume_one_time_token(soci::session& s, const std::string& token_hash,
                                                  const std::string& purpose) {
  std::string user_id;
  s << R"sql(UPDATE accounts.one_time_tokens SET used_at = now()
             WHERE token_hash = :hash AND purpose = :purpose AND used_at IS NULL AND expires_at > now()
             RETURNING user_id::text)sql",
      soci::use(token_hash, "hash"), soci::use(purpose, "purpose"), soci::into(user_id);
  if (!s.got_data()) return std::nullopt;
  return user_id;
}

std::vector<Address> list_addresses(soci::session& s, const std::string& user_id) {
  std::vector<Address> out;
  soci::rowset<soci::row> rows = (s.prepare << "SELECT " << kAddressColumns
                                            << " FROM accounts.addresses WHERE user_id = CAST(:u AS uuid) ORDER BY id",
                                  soci::use(user_id, "u"));
  for (const auto& r : rows) out.push_back(address_from(r));
  return out;
}

namespace {

// The owner is part of the key: another user's address is simply not found (BOLA).
const std::string& address_sql() {
  static const std::string sql =
      std::string("SELECT") + kAddressColumns +
      R"sql( FROM accounts.addresses WHERE id = CAST($1 AS uuid) AND user_id = CAST($2 AS uuid))sql";
  return sql;
}
const pq::Prepared kAddress{"accounts_address_v1", address_sql().c_str()};

pq::Params address_params(const std::string& user_id, const std::string& address_id) {
  pq::Params params;
  params.add(address_id);
  params.add(user_id);
  return params;
}

std::optional<Address> address_of(const pq::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return address_from(r);
}

}  // namespace

std::optional<Address> find_address(soci::session& s, const std::string& user_id, const std::string& address_id) {
  return address_of(pq::exec_prepared(s, kAddress, address_params(user_id, address_id)));
}

asio::awaitable<std::optional<Address>> find_address(platform::Database& db, const std::string& user_id,
                                                     const std::string& address_id) {
  co_return address_of(co_await pq::query(db, kAddress, address_params(user_id, address_id)));
}

int count_addresses(soci::session& s, const std::string& user_id) {
  int n = 0;
  s << "SELECT count(*) FROM accounts.addresses WHERE user_id = CAST(:u AS uuid)", soci::use(user_id, "u"),
      soci::into(n);
  return n;
}

void insert_address(soci::session& s, const std::string& user_id, const Address& a) {
  Nullable label(a.label), line2(a.line2), region(a.region), phone(a.phone);
  const int is_default = a.is_default_shipping ? 1 : 0;
  s << R"sql(INSERT INTO accounts.addresses (id, user_id, label, first_name, last_name, line1, line2, city,
                                             postal_code, region, country, phone, is_default_shipping)
             VALUES (CAST(:id AS uuid), CAST(:u AS uuid), :label, :first, :last, :line1, :line2, :city, :postal,
                     :region, :country, :phone, :def = 1))sql",
      soci::use(a.id, "id"), soci::use(user_id, "u"), use_nullable(label, "label"), soci::use(a.first_name, "first"),
      soci::use(a.last_name, "last"), soci::use(a.line1, "line1"), use_nullable(line2, "line2"),
      soci::use(a.city, "city"), soci::use(a.postal_code, "postal"), use_nullable(region, "region"),
      soci::use(a.country, "country"), use_nullable(phone, "phone"), soci::use(is_default, "def");
}

void update_address(soci::session& s, const std::string& user_id, const Address& a) {
  Nullable label(a.label), line2(a.line2), region(a.region), phone(a.phone);
  const int is_default = a.is_default_shipping ? 1 : 0;
  s << R"sql(UPDATE accounts.addresses SET label = :label, first_name = :first, last_name = :last, line1 = :line1,
               line2 = :line2, city = :city, postal_code = :postal, region = :region, country = :country,
               phone = :phone, is_default_shipping = (:def = 1)
             WHERE id = CAST(:id AS uuid) AND user_id = CAST(:u AS uuid))sql",
      use_nullable(label, "label"), soci::use(a.first_name, "first"), soci::use(a.last_name, "last"),
      soci::use(a.line1, "line1"), use_nullable(line2, "line2"), soci::use(a.city, "city"),
      soci::use(a.postal_code, "postal"), use_nullable(region, "region"), soci::use(a.country, "country"),
      use_nullable(phone, "phone"), soci::use(is_default, "def"), soci::use(a.id, "id"), soci::use(user_id, "u");
}

bool delete_address(soci::session& s, const std::string& user_id, const std::string& address_id) {
  soci::statement st = (s.prepare << R"sql(DELETE FROM accounts.addresses
                                           WHERE id = CAST(:id AS uuid) AND user_id = CAST(:u AS uuid))sql",
                        soci::use(address_id, "id"), soci::use(user_id, "u"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

void clear_default_shipping(soci::session& s, const std::string& user_id) {
  s << R"sql(UPDATE accounts.addresses SET is_default_shipping = false
             WHERE user_id = CAST(:u AS uuid) AND is_default_shipping)sql",
      soci::use(user_id, "u");
}

}  // namespace bazaar::accounts::repo
