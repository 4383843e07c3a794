#pragma once
// JSON shapes of the accounts API (API.md "Accounts") and the input readers that validate them.
#include "repository.hpp"

#include <accounts/accounts.hpp>
#include <platform/json.hpp>

namespace bazaar::accounts {

// Never the password hash.
boost::json::object user_json(const repo::UserRow& u);
// The same document as user_json, serialized: written directly (GET /me, the hottest authenticated read).
std::string user_json_text(const repo::UserRow& u);
boost::json::object address_json(const Address& a);

// Reads Address fields into `a`. With `partial` (PATCH) absent fields keep their value and nullable
// fields can be cleared with null; otherwise the required fields must be present.
void read_address(platform::FieldReader& r, Address& a, bool partial);

}  // namespace bazaar::accounts
