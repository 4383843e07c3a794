#pragma once
// JSON shapes of the accounts API (API.md "Accounts") and the input readers that validate them.
#include "repository.hpp"

#include <accounts/accounts.hpp>
#include <platform/json.hpp>

namespace bazaar::accounts {

boost::json::object user_json(const repo::UserRow& u);  // never the password hash
boost::json::object address_json(const Address& a);

// Reads Address fields into `a`. With `partial` (PATCH) absent fields keep their value and nullable
// fields can be cleared with null; otherwise the required fields must be present.
void read_address(platform::FieldReader& r, Address& a, bool partial);

}  // namespace bazaar::accounts
