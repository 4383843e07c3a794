#include "json_mapping.hpp"

#include "domain/validation.hpp"

namespace bazaar::accounts {

namespace json = boost::json;

namespace {
json::value nullable(const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); }

// A nullable text field: absent → unchanged (partial) or null; explicit null → cleared.
void read_optional(platform::FieldReader& r, std::string_view key, std::optional<std::string>& target,
                   std::size_t max_len, bool partial) {
  if (r.is_null(key)) {
    target.reset();
  } else if (r.has(key)) {
    if (auto v = r.string(key, false, 0, max_len)) target = v->empty() ? std::nullopt : std::optional(*v);
  } else if (!partial) {
    target.reset();
  }
}

void read_required(platform::FieldReader& r, std::string_view key, std::string& target, std::size_t max_len,
                   bool partial) {
  if (partial && !r.has(key)) return;
  if (auto v = r.string(key, true, 1, max_len)) target = *v;
}
}  // namespace

json::object user_json(const repo::UserRow& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"first_name", u.first_name},
          {"last_name", u.last_name},
          {"phone", nullable(u.phone)},
          {"role", u.role},
          {"status", u.status},
          {"email_verified", u.email_verified},
          {"created_at", u.created_at}};
}

// Field for field what user_json holds (tests/accounts/json_mapping_test.cpp compares the two).
std::string user_json_text(const repo::UserRow& u) {
  std::string out;
  out.reserve(256);
  platform::JsonObjectWriter(out)
      .string("id", u.id)
      .string("email", u.email)
      .string("first_name", u.first_name)
      .string("last_name", u.last_name)
      .nullable("phone", u.phone)
      .string("role", u.role)
      .string("status", u.status)
      .boolean("email_verified", u.email_verified)
      .string("created_at", u.created_at)
      .finish();
  return out;
}

json::object address_json(const Address& a) {
  return {{"id", a.id},
          {"label", nullable(a.label)},
          {"first_name", a.first_name},
          {"last_name", a.last_name},
          {"line1", a.line1},
          {"line2", nullable(a.line2)},
          {"city", a.city},
          {"postal_code", a.postal_code},
          {"region", nullable(a.region)},
          {"country", a.country},
          {"phone", nullable(a.phone)},
          {"is_default_shipping", a.is_default_shipping}};
}

void read_address(platform::FieldReader& r, Address& a, bool partial) {
  read_optional(r, "label", a.label, 50, partial);
  read_required(r, "first_name", a.first_name, 100, partial);
  read_required(r, "last_name", a.last_name, 100, partial);
  read_required(r, "line1", a.line1, 200, partial);
  read_optional(r, "line2", a.line2, 200, partial);
  read_required(r, "city", a.city, 100, partial);
  read_required(r, "postal_code", a.postal_code, 20, partial);
  read_optional(r, "region", a.region, 100, partial);
  if (!partial || r.has("country")) {
    if (auto c = r.string("country", true, 2, 2)) {
      if (domain::is_country_code(*c)) {
        a.country = *c;
      } else {
        r.fail("country", "must be an ISO 3166-1 alpha-2 code in upper case, e.g. \"DE\"");
      }
    }
  }
  read_optional(r, "phone", a.phone, 32, partial);
  if (a.phone && !domain::is_valid_phone(*a.phone)) r.fail("phone", "must be a phone number");
  if (!partial || r.has("is_default_shipping")) {
    if (auto d = r.boolean("is_default_shipping", false)) a.is_default_shipping = *d;
  }
}

}  // namespace bazaar::accounts
