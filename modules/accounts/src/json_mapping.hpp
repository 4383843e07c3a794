#pragma once
// JSON shapes of the accounts API (API.md "Accounts") and the input readers that validate them.
#include "repository.hpp"

#include <accounts/accounts.hpp>
#include <platform/json.hpp>

namespace bazaar::accounts {

// Never the password hash. `sp`: where the object's memory comes from (e.g. a request-local arena).
boost::json::object user_json(const repo::UserRow& u, boost::json::storage_ptr sp = {});
boost::json::object address_json(const Address& a);

// Reads Address fields into `a`. With `partial` (PATCH) absent fields keep their value and nullable
// fields can be cleared with null; otherwise the required fields must be present.
void read_address(platform::FieldReader& r, Address& a, bool partial);

}  // namespace bazaar::accounts
