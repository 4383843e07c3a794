#pragma once
// The accounts module's facade: what other modules may ask about users. Plain values cross this
// boundary; every call could become a network call later.
#include <platform/error.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::accounts {

struct UserContact {
  std::string user_id;
  std::string email;
  std::string first_name;
  std::string last_name;
};

struct Address {
  std::string id;
  std::optional<std::string> label;
  std::string first_name;
  std::string last_name;
  std::string line1;
  std::optional<std::string> line2;
  std::string city;
  std::string postal_code;
  std::optional<std::string> region;
  std::string country;  // ISO 3166-1 alpha-2
  std::optional<std::string> phone;
  bool is_default_shipping = false;
};

class Directory {
 public:
  virtual ~Directory() = default;
  // Name and email for messages; nullopt for an unknown (or deleted) user.
  virtual boost::asio::awaitable<std::optional<UserContact>> contact(std::string user_id) = 0;
  // One of the user's saved addresses; nullopt when it does not exist or belongs to someone else.
  virtual boost::asio::awaitable<std::optional<Address>> address(std::string user_id, std::string address_id) = 0;
  // Every active admin (recipients of operational notices such as low stock).
  virtual boost::asio::awaitable<std::vector<UserContact>> admins() = 0;
  // Validates Address fields given inline (e.g. a checkout's shipping address) by the same rules as saved
  // addresses; 422 field errors are prefixed with `field_prefix`. Pure: no I/O.
  virtual platform::Result<Address> validate_address(const boost::json::object& fields,
                                                     const std::string& field_prefix) const = 0;
};

}  // namespace bazaar::accounts
